#ifndef HDMS_CHIREDIS_SHIM_H
#define HDMS_CHIREDIS_SHIM_H
#include <hiredis/hiredis.h>
#include <poll.h>
#endif
