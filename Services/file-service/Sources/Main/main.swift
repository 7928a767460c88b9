#if canImport(Glibc)
import Glibc
#endif
import FileService
import ServiceKit

#if canImport(Glibc)
// Transfer buffers (128 KiB download chunks, 64 KiB write buffers) are allocated on one thread and
// freed on another. With glibc's default, the first such free raises the mmap threshold above their
// size, so from then on they come from per-thread arenas that keep the memory after the transfer;
// a fixed threshold keeps them mmap'ed and returned to the system when freed. `mallopt` and
// M_MMAP_THRESHOLD (-3) come from <malloc.h>, which Swift's Glibc module does not export.
if let symbol = dlsym(nil, "mallopt") {
    let mallopt = unsafeBitCast(symbol, to: (@convention(c) (Int32, Int32) -> Int32).self)
    _ = mallopt(-3, 128 * 1024)
}
#endif

await ServiceMain.run(try FileServiceApp.definition())
