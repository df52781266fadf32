"""deploy/: the Docker image, compose file, Kubernetes manifests and nginx template agree
with each other and with the repository, and `bash deploy/local.sh` runs N replicas behind
nginx on this machine: spread without a cookie, sticky with one, websockets through the
proxy, and everything it started gone after Ctrl-C or SIGTERM.

Docker cannot run here; its files are checked by what they name. The tests that need
Debian's nginx skip without it, unless REQUIRE_NGINX=1 (set by .ci/run): then they fail.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path

import psutil
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
DEPLOY = REPO / "deploy"
TEMPLATE = DEPLOY / "nginx" / "streamlit.conf.template"
LOCAL_SH = DEPLOY / "local.sh"
NGINX = Path(os.environ.get("NGINX", "/usr/sbin/nginx"))
PAGES = ("random_walks", "vector_field", "sampling", "guidance", "train")
sys.path.insert(0, str(REPO / "tests" / "benchmarks"))

from st_client import StreamlitSession  # noqa: E402


def require_nginx() -> Path:
    """NGINX, or skip the test (fail it under REQUIRE_NGINX=1) when it is missing."""
    if NGINX.exists():
        return NGINX
    reason = f"{NGINX} not found: install Debian's nginx (apt-get install nginx)"
    if os.environ.get("REQUIRE_NGINX") == "1":
        pytest.fail(f"REQUIRE_NGINX=1 but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture
def nginx() -> Path:
    return require_nginx()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ---------------------------------------------------------------- the container files

def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of deploy/Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\n", " ", (DEPLOY / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1])
            for line in lines if line and not line.startswith("#")]


def test_the_image_copies_files_that_exist_and_the_build_context_keeps() -> None:
    ignored = {line.strip().rstrip("/") for line in (REPO / ".dockerignore").read_text()
               .splitlines() if line.strip() and not line.startswith("#")}
    assert {".git", ".venv", "tests"} <= ignored
    copies = [args.split()[:-1] for name, args in dockerfile_instructions() if name == "COPY"]
    sources = [source.rstrip("/") for sources in copies for source in sources]
    assert {"app.py", "pages", "explainer", "assets", "deploy/public.env",
            "deploy/warm_up.py"} <= set(sources)
    for source in sources:
        assert (REPO / source).exists(), source
        assert not any(source == pattern or source.startswith(pattern + "/")
                       for pattern in ignored), f"{source} is left out by .dockerignore"


def test_the_image_is_cpu_torch_not_root_with_a_health_check() -> None:
    instructions = dockerfile_instructions()
    runs = " ".join(args for name, args in instructions if name == "RUN")
    args = dict(arg.split("=", 1) for name, arg in instructions if name == "ARG")
    # torch from the CPU wheel index, unpinned by default (the version is a build arg).
    assert re.search(r'pip install --index-url "\$TORCH_INDEX_URL" "\$TORCH_SPEC"', runs)
    assert args["TORCH_INDEX_URL"].endswith("/cpu") and args["TORCH_SPEC"] == "torch"
    user = [arg for name, arg in instructions if name == "USER"][-1]
    assert user not in ("root", "0")
    health = next(arg for name, arg in instructions if name == "HEALTHCHECK")
    assert '"deploy/warm_up.py", "http://127.0.0.1:8501"' in health
    assert "/_stcore/health" in (DEPLOY / "warm_up.py").read_text()
    command = next(arg for name, arg in instructions if name == "CMD")
    assert ". deploy/public.env" in command and "exec python -m streamlit run app.py" in command


def public_settings(preset: dict[str, str]) -> dict[str, str]:
    """Streamlit's options as `streamlit config show` prints them after sourcing
    deploy/public.env the way local.sh and the image do, with `preset` already set."""
    script = ("set -a && . deploy/public.env && set +a && exec "
              f"{shlex.quote(sys.executable)} -m streamlit config show")
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMLIT_")}
    out = subprocess.run(["sh", "-c", script], cwd=REPO, env={**env, **preset},
                         capture_output=True, text=True, timeout=120, check=True).stdout
    return dict(re.findall(r"^(\w+) = (.+)$", out, flags=re.MULTILINE))


def test_public_env_sets_what_a_public_server_needs_and_yields_to_the_environment() -> None:
    settings = public_settings({})
    assert settings["showErrorDetails"] == '"none"'  # no tracebacks with server paths
    assert settings["enableXsrfProtection"] == "true"
    assert settings["headless"] == "true"
    assert int(settings["maxUploadSize"]) <= 10
    assert public_settings({"STREAMLIT_SERVER_MAX_UPLOAD_SIZE": "2"})["maxUploadSize"] == "2"


def test_compose_puts_replicas_behind_the_same_nginx_template_as_local_sh() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    app, proxy = compose["services"]["app"], compose["services"]["proxy"]
    assert (DEPLOY / app["build"]["context"] / app["build"]["dockerfile"]).resolve() == (
        DEPLOY / "Dockerfile").resolve()
    assert app["deploy"]["replicas"] >= 2
    assert proxy["image"].startswith("nginx:")
    assert proxy["depends_on"]["app"]["condition"] == "service_healthy"
    source, target = proxy["volumes"][0].split(":")[:2]
    assert (DEPLOY / source).resolve() == TEMPLATE.resolve()
    # The nginx image renders /etc/nginx/templates/X.template to conf.d/X: default.conf
    # replaces its welcome site, which would otherwise answer on the same port.
    assert target == "/etc/nginx/templates/default.conf.template"
    assert "streamlit.conf.template" in LOCAL_SH.read_text()
    assert set(re.findall(r"\$\{(\w+)\}", TEMPLATE.read_text())) == set(proxy["environment"])


def render(values: dict[str, str]) -> str:
    """The template with ${NAME} filled, as the nginx image's envsubst and local.sh do."""
    return re.sub(r"\$\{(\w+)\}", lambda m: values[m.group(1)], TEMPLATE.read_text())


def test_the_template_hashes_a_cookie_not_the_address_and_nginx_accepts_it(
        nginx: Path, tmp_path: Path) -> None:
    text = TEMPLATE.read_text()
    assert re.search(r"^\s*hash \$affinity_key consistent;", text, flags=re.MULTILINE)
    assert "ip_hash" not in text and "$remote_addr" not in text
    assert "proxy_set_header Upgrade $http_upgrade" in text
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    values = dict(compose["services"]["proxy"]["environment"])
    # "app" resolves only inside Docker's network; the rest is compose's own values.
    values["REPLICA_SERVERS"] = "server 127.0.0.1:8501; server 127.0.0.1:8502;"
    (tmp_path / "site.conf").write_text(render(values))
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nevents {{}}\nhttp {{ include {tmp_path}/site.conf; }}\n")
    result = subprocess.run([str(nginx), "-t", "-e", "stderr", "-p", str(tmp_path),
                             "-c", str(tmp_path / "nginx.conf")],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr


def test_kubernetes_probes_health_and_the_ingress_sticks_by_cookie() -> None:
    docs = {d["kind"]: d for d in yaml.safe_load_all(
        (DEPLOY / "kubernetes" / "explainer.yaml").read_text())}
    deployment, service, ingress = docs["Deployment"], docs["Service"], docs["Ingress"]
    pod = deployment["spec"]["template"]
    container = pod["spec"]["containers"][0]
    port_names = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert port_names["http"] == 8501
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": "/_stcore/health", "port": "http"}
    command = container["startupProbe"]["exec"]["command"]
    assert command[1] == "deploy/warm_up.py" and command[2].endswith(f":{port_names['http']}")
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
    assert deployment["spec"]["replicas"] >= 2
    assert service["spec"]["selector"].items() <= pod["metadata"]["labels"].items()
    assert service["spec"]["ports"][0]["targetPort"] == "http"
    annotations = ingress["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/affinity"] == "cookie"
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] == service["metadata"]["name"]
    assert backend["port"]["name"] == service["spec"]["ports"][0]["name"]


def run_warm_up(url: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(DEPLOY / "warm_up.py"), url],
                          capture_output=True, text=True, timeout=120)


def test_warm_up_without_a_server_fails_in_one_line() -> None:
    result = run_warm_up(f"http://127.0.0.1:{free_port()}")
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("warm_up: ")


# ---------------------------------------------------------------- local.sh: arguments

def run_local_sh(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(LOCAL_SH), *args], capture_output=True, text=True,
                          timeout=60, env={**os.environ, "PYTHON": sys.executable})


@pytest.mark.parametrize("args", [
    (),
    ("--replicas", "2"),
    ("--replicas", "0", "--port", "8080"),
    ("--replicas", "two", "--port", "8080"),
    ("--replicas", "2", "--port", "70000"),
    ("--replicas", "2", "--port", "1e3"),
    ("--replicas", "2", "--port", "8080", "--bind", "example.org"),
    ("--replicas", "2", "--port", "8080", "--workers", "4"),
    ("--replicas",),
])
def test_local_sh_refuses_bad_arguments_in_one_line(args: tuple[str, ...]) -> None:
    result = run_local_sh(*args)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(("local.sh:", "usage:")), result.stderr


def test_local_sh_says_when_the_port_is_busy(nginx: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_local_sh("--replicas", "1", "--port", str(port), "--bind", "127.0.0.1")
    assert result.returncode == 2
    assert result.stderr.strip() == (f"local.sh: cannot listen on 127.0.0.1 port {port}: "
                                      "Address already in use")


# ---------------------------------------------------------------- local.sh: running

@dataclass
class LocalDeployment:
    """`bash deploy/local.sh` in its own process group, its output collected."""

    replicas: int
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None
    lines: list[str] = field(default_factory=list)
    replica_ports: list[int] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 240.0) -> LocalDeployment:
        self.process = subprocess.Popen(
            ["bash", str(LOCAL_SH), "--replicas", str(self.replicas), "--port", str(self.port),
             "--bind", "127.0.0.1"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, start_new_session=True, env={**os.environ, "PYTHON": sys.executable})
        threading.Thread(target=self._read, daemon=True).start()
        deadline = time.monotonic() + timeout
        while not any("ready on" in line for line in self.lines):
            assert self.process.poll() is None, "local.sh exited:\n" + self.output()
            assert time.monotonic() < deadline, "local.sh not ready:\n" + self.output()
            time.sleep(0.2)
        ports = next(line for line in self.lines if "replicas on ports" in line)
        self.replica_ports = [int(p) for p in ports.split("ports", 1)[1].split(";")[0].split()]
        return self

    def _read(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def output(self) -> str:
        return "\n".join(self.lines[-60:])

    def started(self) -> list[psutil.Process]:
        """Every process local.sh started (replicas, nginx and its workers, log taggers)."""
        assert self.process is not None
        return psutil.Process(self.process.pid).children(recursive=True)

    def signal(self, sig: int) -> int:
        """Send `sig` as a terminal's Ctrl-C (SIGINT, to the foreground process group) or a
        service manager (SIGTERM, to the process) would; returns the exit status."""
        assert self.process is not None
        if sig == signal.SIGINT:
            os.killpg(self.process.pid, sig)
        else:
            self.process.send_signal(sig)
        return self.process.wait(timeout=30)

    def kill(self) -> None:
        """After a failed test: stop it (it removes its temp folder), or kill whatever of
        it is still running."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=20)
            return
        with contextlib.suppress(psutil.Error):
            for proc in self.started():
                with contextlib.suppress(psutil.Error):
                    proc.kill()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)


@pytest.fixture
def deployment(request: pytest.FixtureRequest, nginx: Path) -> Iterator[LocalDeployment]:
    local = LocalDeployment(replicas=request.param)
    try:
        yield local.start()
    finally:
        local.kill()


def get(url: str, cookie: str = "") -> tuple[int, Message, bytes]:
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, response.headers, response.read()


def affinity_cookie(headers: Message) -> str:
    """The proxy's affinity cookie as the browser sends it back ("" if none was set)."""
    cookies = [c.split(";", 1)[0] for c in headers.get_all("Set-Cookie", [])]
    return next((c for c in cookies if c.startswith("stroute=")), "")


def assert_all_stopped(local: LocalDeployment, started: list[psutil.Process]) -> None:
    # The log taggers end when their replica's output closes: give them a moment.
    _, alive = psutil.wait_procs(started, timeout=5)
    assert not alive, [p.cmdline() for p in alive]
    with socket.socket() as sock:  # nobody listens on the proxy's port (TIME_WAIT aside)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", local.port))
    assert "local.sh: stopped" in local.output()


@pytest.mark.slow
@pytest.mark.parametrize("deployment", [2], indirect=True)
def test_two_replicas_spread_cookieless_clients_and_keep_a_cookie_on_one(
        deployment: LocalDeployment) -> None:
    url = deployment.url
    status, _, body = get(url + "/_stcore/health")
    assert (status, body) == (200, b"ok")
    replicas = {f"127.0.0.1:{p}" for p in deployment.replica_ports}
    assert len(replicas) == 2

    # Twenty browsers without the cookie (one school address): each gets a cookie, and
    # they land on both replicas (all on one by chance: 2 in a million).
    landed = []
    for _ in range(20):
        _, headers, _ = get(url + "/_stcore/health")
        assert affinity_cookie(headers), headers
        landed.append(headers["X-Upstream"])
    assert set(landed) == replicas

    # One browser with its cookie: always the same replica, no new cookie.
    _, headers, _ = get(url + "/_stcore/health")
    cookie, first = affinity_cookie(headers), headers["X-Upstream"]
    for _ in range(10):
        _, headers, _ = get(url + "/_stcore/health", cookie)
        assert headers["X-Upstream"] == first and not affinity_cookie(headers)

    # A class's first visits, deep links a few at a time, on replicas nobody has visited
    # through the proxy: whole sessions over websockets, each run clean (local.sh made
    # every replica run app.py first, deploy/warm_up.py).
    runs: list = []

    def visit(i: int) -> None:
        time.sleep(0.08 * i)
        session = StreamlitSession(url)
        try:
            runs.append((session.open_page(PAGES[i % len(PAGES)]), session.cookie_header()))
        finally:
            session.close()

    threads = [threading.Thread(target=visit, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert len(runs) == 16
    assert all(r.status == "FINISHED_SUCCESSFULLY" and not r.errors for r, _ in runs), runs
    assert all("stroute=" in cookie for _, cookie in runs)
    assert run_warm_up(url).returncode == 0

    started = deployment.started()
    assert sum("streamlit" in " ".join(p.cmdline()) for p in started) == 2
    assert deployment.signal(signal.SIGTERM) == 0
    assert_all_stopped(deployment, started)


@pytest.mark.slow
@pytest.mark.parametrize("deployment", [1], indirect=True)
def test_ctrl_c_stops_everything_local_sh_started(deployment: LocalDeployment) -> None:
    started = deployment.started()
    assert any("nginx" in " ".join(p.cmdline()) for p in started)
    assert deployment.signal(signal.SIGINT) == 0
    assert_all_stopped(deployment, started)
