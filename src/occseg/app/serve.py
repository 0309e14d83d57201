"""Start the annotation app: build the project, load the model, serve with uvicorn."""

from __future__ import annotations

import dataclasses
import ipaddress
import socket
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from occseg.app.project import Project
from occseg.app.server import LOOPBACK_HOSTS, create_app
from occseg.errors import ConfigError
from occseg.io.images import NETWORK_MAX_SIDE

__all__ = ["DEFAULT_OUT", "bind", "is_loopback", "serve"]

DEFAULT_OUT = Path("occseg-project")


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and ``localhost``."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (port 0: any free port); ConfigError if busy."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as exc:
        sock.close()
        raise ConfigError(
            f"cannot listen on {host}:{port} ({exc.strerror}); choose another --port or --host"
        ) from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def serve(
    images_dir: str | Path | None = None,
    *,
    out: str | Path = DEFAULT_OUT,
    model: str = "clicknet",
    host: str = "127.0.0.1",
    port: int = 8765,
    classes: Sequence[str] = (),
    max_side: int | None = NETWORK_MAX_SIDE,
    boundary_model: str | Path | None = None,
    order_model: str | Path | None = None,
    proposals: str = "efficientnet",
    echo: Callable[[str], None] = print,
) -> None:
    """Run ``occseg annotate`` until interrupted; prints the URL to open once it is listening.

    ``classes`` are class labels offered for objects (added to the project's list);
    ``max_side`` bounds the image size every model sees (0 or None: full resolution; the order
    network works at most :data:`~occseg.occlusion.pipeline.ORDER_MAX_SIDE` long);
    ``boundary_model`` / ``order_model`` choose boundary mode / automatic ordering
    (:func:`~occseg.app.models.network_extensions`): None, the shipped models where installed;
    ``"none"``, off; else checkpoints of ``occseg train boundaries`` / ``occseg train order``;
    ``proposals`` the features of the proposals layer
    (:func:`~occseg.app.models.proposals_layer`: ``"efficientnet"``, ``"colour"``, or
    ``"none"``, off).
    """
    import uvicorn

    from occseg.app.models import network_extensions, proposals_layer
    from occseg.predict import load_predictor

    # fail fast on unknown models or bad checkpoints, before writing anything
    predictor = load_predictor(model)
    extensions = network_extensions(boundary_model, order_model, max_side=max_side)
    layer = proposals_layer(proposals, max_side=max_side)
    extensions = dataclasses.replace(extensions, proposals=layer)
    project = Project(images_dir, out, model=model)
    for label in classes:
        if label.strip():
            project.add_class(label.strip())
    local = is_loopback(host)
    hosts = list(LOOPBACK_HOSTS) if local else ["*"]
    app = create_app(
        project,
        predictor,
        model_name=model,
        extensions=extensions,
        allowed_hosts=hosts,
        max_side=max_side,
    )
    sock = bind(host, port)
    actual = sock.getsockname()[1]
    shown = f"[{host.strip('[]')}]" if ":" in host else host
    if not local:
        echo(f"warning: listening on {host}, reachable from other machines; no authentication")
    echo(f"occseg annotate: {len(project.names)} images from {project.images_dir}")
    echo(f"annotations are saved in {project.out_dir}")
    echo(f"open http://{shown}:{actual}/ in a browser (Ctrl+C to stop)")
    sys.stdout.flush()
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()
