"""A real nginx-rtmp server on a free loopback port, for tests (Debian: nginx libnginx-mod-rtmp).

    with nginx_rtmp(tmp_path) as url:     # "rtmp://127.0.0.1:PORT"
        publish to f"{url}/live/NAME", play or publish f"{url}/out/NAME"

Two applications, `live` and `out`, both plain live relays. The config, pid and logs live in the
temp dir, so nothing outside it is touched and parallel runs do not collide.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

MODULE_DIRS = (Path("/usr/lib/nginx/modules"), Path("/usr/lib64/nginx/modules"),
               Path("/usr/local/nginx/modules"))
START_TIMEOUT_S = 10.0

CONFIG = """\
load_module {module};
daemon off;
master_process off;
worker_processes 1;
error_log {tmp}/error.log info;
pid {tmp}/nginx.pid;
events {{ worker_connections 64; }}
rtmp {{
    server {{
        listen 127.0.0.1:{port};
        chunk_size 4096;
        application live {{ live on; record off; }}
        application out {{ live on; record off; }}
    }}
}}
"""


def rtmp_module() -> Path | None:
    return next((d / "ngx_rtmp_module.so" for d in MODULE_DIRS
                 if (d / "ngx_rtmp_module.so").exists()), None)


def free_tcp_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def nginx_rtmp(tmp: Path) -> Iterator[str]:
    """Run nginx with the rtmp module until the block exits; skips the test if it is missing."""
    nginx, module = shutil.which("nginx") or "/usr/sbin/nginx", rtmp_module()
    if not Path(nginx).exists() or module is None:
        pytest.skip("nginx with the rtmp module is not installed "
                    "(apt-get install nginx libnginx-mod-rtmp)")
    port = free_tcp_port()
    conf = tmp / "nginx.conf"
    conf.write_text(CONFIG.format(module=module, tmp=tmp, port=port))
    proc = subprocess.Popen([nginx, "-p", str(tmp), "-c", str(conf)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait_listening(port, proc, tmp)
        yield f"rtmp://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def _wait_listening(port: int, proc: subprocess.Popen[bytes], tmp: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            log = (tmp / "error.log").read_text() if (tmp / "error.log").exists() else ""
            raise RuntimeError(f"nginx exited with {proc.returncode}: "
                               f"{proc.stderr.read().decode() if proc.stderr else ''}{log}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nginx did not listen on 127.0.0.1:{port} within {START_TIMEOUT_S}s")
