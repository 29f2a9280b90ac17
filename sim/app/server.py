"""Serving the classroom page: Solara's Starlette app under uvicorn, on localhost by default."""

from __future__ import annotations

import gc
import ipaddress
import os
import socket
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

APP_MODULE = "sim.app.app"
DEFAULT_HOST = "127.0.0.1"
#: plotly.js with the traces the charts draw (no CDN), served by `serve` for `sim.app.charts`.
PLOTLY_URL = "/_smb-sim/plotly-scatter-heatmap.min.js"
#: The bundle: plotly.js 4.1.1's core (scatter, axes, legend, hover, shapes, annotations) and
#: its heatmap trace, 1.2 MB (MIT, `assets/plotly-scatter-heatmap.LICENSE`), built by
#: `scripts/plotly_bundle` with plotly.js's own esbuild settings. Chromium runs it in about
#: 0.1 s, the "cartesian" distribution (1.5 MB: bar, box, contour, violin, pie, world
#: calendars...) in 0.38 s, the plotly wheel's full bundle (4.8 MB) in about 1.1 s.
PLOTLY_JS = Path(__file__).parent / "assets" / "plotly-scatter-heatmap.min.js"
DEFAULT_PORT = 8765


def check_host(host: str) -> str | None:
    """A `ValueError` for an address that is no address (empty: every interface, unasked);
    for one other computers can reach, the warning to print; None for this computer only."""
    if not host.strip():
        raise ValueError(
            f"an empty address would let every computer on the network in; give "
            f"{DEFAULT_HOST} (this computer only) or an address of this computer"
        )
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError) as exc:
        raise ValueError(f"{host!r} is not an address of this computer ({exc})") from None
    if all(ipaddress.ip_address(info[4][0].split("%")[0]).is_loopback for info in infos):
        return None
    return (
        f"listening on {host}: other computers on the network can open the page and use the "
        "app (no password); use --host 127.0.0.1 to keep it on this computer"
    )


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (port 0: a free port chosen by the system)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def address(sock: socket.socket) -> str:
    """The page's address for a bound socket."""
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"


def serve(
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    *,
    announce: Callable[[str], None] | None = None,
) -> None:
    """Serve the classroom page until interrupted; ``announce`` gets the address first.

    The address is announced as soon as Solara's server is loaded. The model, the page's
    components and the first page's charts load meanwhile in a background thread
    (`sim.app.spare`), while the browser fetches and runs Solara's scripts; a page opening
    before they are ready waits for them. Solara's assets come from the `solara-assets`
    package (no CDN: the page works offline), its telemetry is off and it runs in production
    mode (no file watching). The page's head is ours (`sim/app/templates`); on a loopback
    ``host`` nothing is gzipped. The garbage collector waits until the first page's screen
    is ready (`_collect_from_now_on`).
    """
    os.environ["SOLARA_APP"] = APP_MODULE
    os.environ.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "False")
    os.environ.setdefault("SOLARA_THEME_SHOW_BANNER", "False")
    sock = bind(host, port)
    # The start makes over a million objects that stay (modules, classes, Solara's and the
    # model's): collecting garbage while they are made took 10% of the
    # server's CPU before the first page (0.2 s at load 4).
    gc.disable()
    import uvicorn
    from solara.server import settings

    settings.main.mode = "production"
    settings.telemetry.mixpanel_enable = False
    settings.theme.title = "smb-sim classroom"
    os.environ["SERVER_NAME"], os.environ["SERVER_PORT"] = host, str(sock.getsockname()[1])
    warnings.filterwarnings("ignore", message="Cookies with samesite=none require https")

    from solara.server import server as solara_server
    from solara.server.starlette import app

    _serve_plotly_js(app)
    _use_template(solara_server)
    if check_host(host) is None:
        _send_uncompressed(app)

    from sim.app import spare

    config = uvicorn.Config(app, log_level="warning", lifespan="on")
    # Everything the server itself imports is imported now, so that no import runs in two
    # threads at once once the warm-up thread starts (a circular import across threads fails).
    config.load()
    # The page's script list, hashed once and cached. Done here, not in the background: it
    # reads a hundred files, and each read hands the interpreter lock to the busy warm-up
    # thread and waits to get it back, which made the first page's HTML take 0.4 s.
    solara_server.get_nbextensions()
    # the model, the page and the first page's charts; then garbage is collected again
    spare.prepare_soon(then=_collect_from_now_on)
    (announce or _print)(address(sock))
    uvicorn.Server(config).run(sockets=[sock])


def _collect_from_now_on() -> None:
    """The garbage collector on again, the objects made so far left out of its rounds for
    good (`gc.freeze`): they stay while the server runs, and every full round would go
    through them again."""
    gc.freeze()
    gc.enable()


def _serve_plotly_js(app: Any) -> None:
    """plotly.js (`PLOTLY_JS`) at `PLOTLY_URL` (offline, cached)."""
    from starlette.responses import FileResponse
    from starlette.routing import Route

    def plotly_js(request: Any) -> FileResponse:
        return FileResponse(PLOTLY_JS, headers={"Cache-Control": "public, max-age=86400"})

    app.router.routes.insert(0, Route(PLOTLY_URL, plotly_js))


def _send_uncompressed(app: Any) -> None:
    """No gzip: on this computer the 9 MB of scripts cross no network, and compressing them
    (Solara compresses every response, at level 9) took 0.3 s of the server's CPU before the
    first page was usable. Done before the server's first request builds its middleware."""
    from starlette.middleware.gzip import GZipMiddleware

    app.user_middleware = [m for m in app.user_middleware if m.cls is not GZipMiddleware]


def _use_template(solara_server: Any) -> None:
    """Solara's page from `sim/app/templates/index.html.j2` (it asks for plotly.js early).

    Solara looks for templates beside the app's directory (``sim/templates``); ours sit with
    the app, so their directory goes first in the page's template search path.
    """
    loader = solara_server.get_jinja_env(app_name="__default__").loader
    templates = str(Path(__file__).parent / "templates")
    if templates not in loader.searchpath:
        loader.searchpath.insert(0, templates)


def _print(url: str) -> None:
    print(f"smb-sim classroom: open {url} in a browser (Ctrl+C stops it)", flush=True)
    sys.stdout.flush()
