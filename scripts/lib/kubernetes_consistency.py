"""Checks rendered Kubernetes manifests against the code and the gateway (scripts/kubernetes-check).

python3 kubernetes_consistency.py ROOT NAME=RENDERED.yaml ...   (needs PyYAML)

What the code says, read from the sources rather than repeated here:
- each service's name and port: ServiceName's raw values and defaultPort (Shared/Protocol/Roles.swift);
- the probe paths: the routes ServiceKit registers (Shared/ServiceKit/Health.swift);
- the environment variables the services read, which of them have no default (required), and the
  service each URL variable names (by its default port) (Shared/ and Services/*/Sources);
- the gateway's routes: compose/nginx/hdms.conf.template and compose/nginx/entrypoint.sh.
Every problem is printed; the exit status is 1 if there was any.
"""

import pathlib
import re
import sys

import yaml

ROOT = pathlib.Path(sys.argv[1])
problems = []


def problem(where, text):
    problems.append(f"{where}: {text}")


# --- What the code says -------------------------------------------------------------------------

roles = (ROOT / "Shared/Protocol/Roles.swift").read_text()
enum = roles[roles.index("enum ServiceName"):]
case_names = dict(re.findall(r'case (\w+) = "([a-z-]+)"', enum))
ports_by_case = dict(re.findall(r"case \.(\w+): (\d+)", enum[enum.index("defaultPort"):]))
PORTS = {case_names[case]: int(port) for case, port in ports_by_case.items()}
if len(PORTS) != 5:
    sys.exit(f"could not read the five services' ports from Roles.swift: {PORTS}")

health = (ROOT / "Shared/ServiceKit/Health.swift").read_text()
for path in ("/health/live", "/health/ready"):
    if f'router.get("{path}")' not in health:
        sys.exit(f"ServiceKit no longer registers {path}; update this check and the manifests")
LIVE, READY = "/health/live", "/health/ready"

# Variables required only when another selects their part: prefix -> (variable, value, its default).
CONDITIONAL = {"HDMS_S3_": ("HDMS_FILES_STORE", "s3", "local")}

# Variables read from the environment: Shared/ serves every service; Services/<name>/ only that one.
READ = {name: set() for name in PORTS}
REQUIRED = {name: set() for name in PORTS}
URL_SERVICE = {}
service_of_port = {port: name for name, port in PORTS.items()}
for source in list((ROOT / "Shared").rglob("*.swift")) + list((ROOT / "Services").rglob("*.swift")):
    text = source.read_text()
    parts = source.relative_to(ROOT).parts
    owners = list(PORTS) if parts[0] == "Shared" else [parts[1]]
    names = set(re.findall(r'"(HDMS_[A-Z0-9_]+)"', text))
    required = set(re.findall(r'\.string\("(HDMS_[A-Z0-9_]+)"\)', text))
    for owner in owners:
        if owner in READ:
            READ[owner] |= names
            REQUIRED[owner] |= required
    for var, port in re.findall(r'url\("(HDMS_[A-Z_]+_URL)", default: "http://127\.0\.0\.1:(\d+)"\)', text):
        URL_SERVICE[var] = service_of_port[int(port)]
if len(URL_SERVICE) != 4:
    problem("Configuration.swift", f"expected four service URL variables, found {URL_SERVICE}")

# The gateway: upstream hdms_x { @X@ } and entrypoint.sh's s|@X@|server name:port;|.
template = (ROOT / "compose/nginx/hdms.conf.template").read_text()
entrypoint = (ROOT / "compose/nginx/entrypoint.sh").read_text()
placeholder_target = {key: (name, int(port)) for key, name, port in
                      re.findall(r"s\|@([A-Z]+)@\|server ([a-z-]+):(\d+);\|", entrypoint)}
UPSTREAM = {}
for upstream, key in re.findall(r"upstream (\w+) \{\s*@([A-Z]+)@", template):
    name, port = placeholder_target[key]
    UPSTREAM[upstream] = name
    if PORTS.get(name) != port:
        problem("compose/nginx/entrypoint.sh", f"{name} at port {port}, the code says {PORTS.get(name)}")


def size_bytes(text):
    number, unit = re.fullmatch(r"(\d+)([kKmMgG]?)", str(text).strip()).groups()
    return int(number) * {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}[unit.lower()]


def seconds(text):
    number, unit = re.fullmatch(r"(\d+)([smh]?)", str(text).strip()).groups()
    return int(number) * {"": 1, "s": 1, "m": 60, "h": 3600}[unit]


# Each proxied location as (path, Exact|Prefix) -> (service, rewritten path or None, settings).
GATEWAY = {}
server_body = size_bytes(re.search(r"server \{.*?client_max_body_size (\w+);", template, re.S).group(1))
for modifier, pattern, body in re.findall(r"location\s+(=|~)?\s*(\S+)\s*\{(.*?)\n    \}", template, re.S):
    proxy = re.search(r"proxy_pass http://(\w+)(/[^;]*)?;", body)
    if not proxy:
        continue  # answered by the gateway itself (/health/live)
    service, rewrite = UPSTREAM[proxy.group(1)], proxy.group(2)
    settings = {
        "body": size_bytes(m.group(1)) if (m := re.search(r"client_max_body_size (\w+);", body)) else server_body,
        "read_timeout": seconds(m.group(1)) if (m := re.search(r"proxy_read_timeout (\w+);", body)) else 60,
    }
    if modifier == "=":
        routes = [(pattern, "Exact")]
    elif modifier == "~":
        m = re.fullmatch(r"\^(/[\w/-]*?)(?:\(([\w|-]+)\))?\(/\|\$\)", pattern)
        if not m:
            problem("hdms.conf.template", f"cannot read location ~ {pattern}")
            continue
        prefix, alternatives = m.groups()
        routes = [(prefix + alt, "Prefix") for alt in alternatives.split("|")] if alternatives else [(prefix, "Prefix")]
    else:
        routes = [(pattern.rstrip("/") or "/", "Prefix")]
    for route in routes:
        GATEWAY[route] = (service, rewrite, settings)


# --- The manifests ------------------------------------------------------------------------------

def check(render_name, path):
    docs = [d for d in yaml.safe_load_all(pathlib.Path(path).read_text()) if d]
    by_kind = {}
    for doc in docs:
        by_kind.setdefault(doc["kind"], {})[doc["metadata"]["name"]] = doc
    deployments = by_kind.get("Deployment", {})
    services = by_kind.get("Service", {})
    configmaps = by_kind.get("ConfigMap", {})
    secrets = by_kind.get("Secret", {})
    hpas = {d["spec"]["scaleTargetRef"]["name"]: d for d in by_kind.get("HorizontalPodAutoscaler", {}).values()}
    pdbs = list(by_kind.get("PodDisruptionBudget", {}).values())

    def where(*parts):
        return " ".join((render_name,) + parts)

    for name, port in PORTS.items():
        deployment = deployments.get(name)
        if deployment is None:
            problem(where(name), "no Deployment")
            continue
        pod = deployment["spec"]["template"]
        labels = pod["metadata"].get("labels", {})
        containers = pod["spec"]["containers"]
        if len(containers) != 1:
            problem(where(name), f"{len(containers)} containers, expected 1")
        container = containers[0]
        if container.get("args", container.get("command", []))[:1] != [name]:
            problem(where(name), f"runs {container.get('args') or container.get('command')}, expected {name}")
        named = {p.get("name"): p["containerPort"] for p in container.get("ports", [])}
        if named.get("http") != port:
            problem(where(name), f"container port http is {named.get('http')}, the service listens on {port}")

        # Environment: literal values, ConfigMap keys and Secret references.
        env = {}
        for item in container.get("env", []):
            env[item["name"]] = item
            ref = item.get("valueFrom", {}).get("secretKeyRef")
            if ref and secrets and (ref["name"] not in secrets or ref["key"] not in secrets[ref["name"]].get("data", {})):
                problem(where(name), f"{item['name']} refers to missing Secret key {ref['name']}/{ref['key']}")
        for source in container.get("envFrom", []):
            ref = source.get("configMapRef", {}).get("name")
            if ref is None:
                continue
            if ref not in configmaps:
                problem(where(name), f"envFrom ConfigMap {ref} is not among the resources")
                continue
            for key, value in configmaps[ref].get("data", {}).items():
                env.setdefault(key, {"name": key, "value": value})
        if env.get("HDMS_HTTP_PORT", {}).get("value", str(port)) != str(port):
            problem(where(name), f"HDMS_HTTP_PORT is {env['HDMS_HTTP_PORT']['value']}, expected {port}")
        if env.get("HDMS_HTTP_HOST", {}).get("value") in (None, "127.0.0.1", "localhost"):
            problem(where(name), "HDMS_HTTP_HOST must be set to listen beyond loopback (0.0.0.0)")
        for var in env:
            if var.startswith("HDMS_") and var not in READ[name]:
                problem(where(name), f"sets {var}, which {name} never reads")
        for var in sorted(REQUIRED[name] - set(env)):
            # Settings of an optional part count only where that part is chosen.
            condition = next((c for prefix, c in CONDITIONAL.items() if var.startswith(prefix)), None)
            if condition and env.get(condition[0], {}).get("value", condition[2]) != condition[1]:
                continue
            problem(where(name), f"does not set {var}, which {name} requires")
        for var, target in URL_SERVICE.items():
            value = env.get(var, {}).get("value")
            if value is not None and value.rstrip("/") != f"http://{target}:{PORTS[target]}":
                problem(where(name), f"{var} is {value}, expected http://{target}:{PORTS[target]}")

        # Probes, resources.
        for probe, expected in (("livenessProbe", LIVE), ("readinessProbe", READY), ("startupProbe", LIVE)):
            spec = container.get(probe)
            if spec is None:
                if probe != "startupProbe":
                    problem(where(name), f"no {probe}")
                continue
            get = spec.get("httpGet", {})
            if get.get("path") != expected or get.get("port") not in ("http", port):
                problem(where(name), f"{probe} asks {get.get('path')} on {get.get('port')}, expected {expected} on http/{port}")
        resources = container.get("resources", {})
        for part in ("requests", "limits"):
            for kind in ("cpu", "memory"):
                if kind not in resources.get(part, {}):
                    problem(where(name), f"no {part}.{kind}")

        # Service, autoscaler, disruption budget.
        service = services.get(name)
        if service is None:
            problem(where(name), "no Service")
        else:
            if any(labels.get(k) != v for k, v in service["spec"]["selector"].items()):
                problem(where(name), "Service selector does not match the pods' labels")
            sports = service["spec"]["ports"]
            if len(sports) != 1 or sports[0]["port"] != port or sports[0].get("targetPort") not in ("http", port):
                problem(where(name), f"Service ports {sports}, expected {port} -> http")
        if name not in hpas:
            problem(where(name), "no HorizontalPodAutoscaler")
        elif hpas[name]["spec"].get("minReplicas", 1) < 2:
            problem(where(name), "HorizontalPodAutoscaler allows fewer than 2 replicas")
        if not any(all(labels.get(k) == v for k, v in p["spec"]["selector"]["matchLabels"].items()) for p in pdbs):
            problem(where(name), "no PodDisruptionBudget selects its pods")

    # Ingress against the gateway.
    routes = {}
    for ingress in by_kind.get("Ingress", {}).values():
        annotations = ingress["metadata"].get("annotations", {})
        settings = {
            "body": size_bytes(annotations.get("nginx.ingress.kubernetes.io/proxy-body-size", "1m")),
            "read_timeout": int(annotations.get("nginx.ingress.kubernetes.io/proxy-read-timeout", "60")),
        }
        rewrite = annotations.get("nginx.ingress.kubernetes.io/rewrite-target")
        for rule in ingress["spec"]["rules"]:
            for item in rule["http"]["paths"]:
                backend = item["backend"]["service"]
                target = services.get(backend["name"])
                number = backend["port"].get("number")
                if target is not None and number is None:
                    number = next((p["port"] for p in target["spec"]["ports"] if p.get("name") == backend["port"].get("name")), None)
                # A Service reaches the service whose pods it selects (communication-service-ws does).
                service = (target or {}).get("spec", {}).get("selector", {}).get("app.kubernetes.io/name", backend["name"])
                if PORTS.get(service) != number:
                    problem(where("Ingress", ingress["metadata"]["name"]), f"{item['path']} goes to {backend['name']}:{number}")
                routes[(item["path"], item["pathType"])] = (service, rewrite, settings)
    for route, (service, rewrite, settings) in GATEWAY.items():
        got = routes.get(route)
        if got is None:
            problem(where("Ingress"), f"the gateway routes {route[1]} {route[0]} to {service}; no Ingress rule does")
            continue
        if got[0] != service or (got[1] or None) != (rewrite or None):
            problem(where("Ingress"), f"{route[0]} goes to {got[0]} {got[1] or ''}, the gateway sends it to {service} {rewrite or ''}")
        if got[2]["body"] < settings["body"]:
            problem(where("Ingress"), f"{route[0]} accepts {got[2]['body']} bytes, the gateway {settings['body']}")
        if got[2]["read_timeout"] < settings["read_timeout"]:
            problem(where("Ingress"), f"{route[0]} times out after {got[2]['read_timeout']} s, the gateway after {settings['read_timeout']} s")
    for route in set(routes) - set(GATEWAY):
        problem(where("Ingress"), f"{route[1]} {route[0]} is not a gateway route")
    return len(docs)


for argument in sys.argv[2:]:
    name, path = argument.split("=", 1)
    count = check(name, path)
    print(f"{name}: {count} resources checked against the code and the gateway")
if problems:
    print("\n".join(problems), file=sys.stderr)
    sys.exit(f"{len(problems)} problem(s) in deploy/kubernetes")
print(f"deploy/kubernetes is consistent: services {', '.join(f'{n}:{p}' for n, p in PORTS.items())}; "
      f"probes {LIVE}, {READY}; {len(GATEWAY)} gateway routes")
