"""``specroof serve``: the local web explorer (needs the ``web`` extra)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from specroof.errors import SpecroofError

if TYPE_CHECKING:
    import socket

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. The default is reachable from this machine only; 0.0.0.0 exposes "
                   "the explorer (and its uploads) to the network.")
@click.option("--port", type=int, default=8000, show_default=True,
              help="TCP port (0: any free port; the address printed names the one bound).")
@click.option("--allow-host", "allow_hosts", multiple=True, metavar="NAME",
              help="Another name requests may address the server by (its Host header), e.g. this machine's "
                   "name when listening on 0.0.0.0. Repeatable. [default: the --host and the loopback names]")
@click.option("--max-points", type=int, default=None, metavar="N",
              help="Largest grid (batch x candidates x seq_len) one request may ask for. [default: 50,000]")
def serve(host: str, port: int, allow_hosts: tuple[str, ...], max_points: int | None) -> None:
    """Explore speedups in the browser: charts, plan table and engine exports, all offline.

    Only requests addressed to this server by one of its names (the Host header) are answered,
    and uploads only from its own page; see docs/explorer.md for what is checked.

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

    sock = _listen(host, port)
    bound = sock.getsockname()[1]
    hosts = (*LOCAL_HOSTS, host.strip("[]"), *allow_hosts)
    app = create_app(max_points=max_points or MAX_POINTS, hosts=hosts, port=bound)
    if host not in LOCAL_HOSTS:
        click.echo(f"warning: listening on {host}: anyone who can reach this address can use the explorer",
                   err=True)
    shown = f"[{host}]" if ":" in host else host
    if host in ("0.0.0.0", "::"):
        shown = "127.0.0.1" if host == "0.0.0.0" else "[::1]"
    click.echo(f"specroof explorer on http://{shown}:{bound}  (Ctrl+C to stop)", err=True)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    with sock:
        server.run(sockets=[sock])


def _listen(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` and listening (SpecroofError, with the reason, if it cannot be).

    Bound here rather than by uvicorn so that the port it got (``--port 0``) is known before
    the address is announced and is the only one the Host check accepts.
    """
    import socket

    try:
        infos = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise SpecroofError(f"--host {host!r} is not an address of this machine ({exc.strerror})") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        hint = "; pick another with --port" if exc.errno in (98, 48, 10048) else ""
        raise SpecroofError(f"cannot listen on {host}:{port}: {exc.strerror or exc}{hint}") from None
    sock.set_inheritable(True)
    return sock
