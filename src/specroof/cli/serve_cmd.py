"""``specroof serve``: the local web explorer (needs the ``web`` extra)."""

from __future__ import annotations

import click

from specroof.errors import SpecroofError

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. The default is reachable from this machine only; 0.0.0.0 exposes "
                   "the explorer (and its uploads) to the network.")
@click.option("--port", type=int, default=8000, show_default=True, help="TCP port (0: any free port).")
@click.option("--max-points", type=int, default=None, metavar="N",
              help="Largest grid (batch x candidates x seq_len) one request may ask for. [default: 50,000]")
def serve(host: str, port: int, max_points: int | None) -> None:
    """Explore speedups in the browser: charts, plan table and engine exports, all offline.

    \b
    Example:
      specroof serve            # then open http://127.0.0.1:8000
    """
    if not 0 <= port <= 65535:
        raise SpecroofError(f"--port must be between 0 and 65535, got {port}")
    if max_points is not None and max_points < 1:
        raise SpecroofError(f"--max-points must be a positive integer, got {max_points}")
    try:
        import uvicorn
    except ModuleNotFoundError:
        raise SpecroofError("specroof serve needs the web extra: pip install 'specroof[web]'") from None
    from specroof.web.app import create_app
    from specroof.web.queries import MAX_POINTS

    _check_free(host, port)
    app = create_app(max_points=max_points or MAX_POINTS)
    if host not in LOCAL_HOSTS:
        click.echo(f"warning: listening on {host}: anyone who can reach this address can use the explorer",
                   err=True)
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"specroof explorer on http://{shown}:{port}  (Ctrl+C to stop)", err=True)
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning")
    except OSError as exc:
        raise SpecroofError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def _check_free(host: str, port: int) -> None:
    """SpecroofError, with the reason, when ``host:port`` cannot be listened on."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise SpecroofError(f"--host {host!r} is not an address of this machine ({exc.strerror})") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            hint = "; pick another with --port" if exc.errno in (98, 48, 10048) else ""
            raise SpecroofError(f"cannot listen on {host}:{port}: {exc.strerror or exc}{hint}") from None
