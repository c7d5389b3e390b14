"""The service's commands: `serve` runs the HTTP service, `keys` creates, lists and revokes API keys,
`audit verify` checks the audit trail's hash chain."""

from __future__ import annotations

import getpass
import os
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from api.app import create_app, database_url_from_env
from api.db import ApiKey, create_db_engine, migrate, resolved_url, session_factory
from api.logs import log_config
from api.service import ROLES, create_key
from api.services.audit import verify_chain
from api.services.keys import MAX_REASON, ORDER_SYSTEM, revoke_key

keys = typer.Typer(
    help="API keys: create (shown once, stored hashed), list, revoke.", no_args_is_help=True
)
audit = typer.Typer(help="The audit trail: verify its hash chain.", no_args_is_help=True)


def command_actor() -> str:
    """Who runs this command, for the audit trail: `cli:` and the OS user."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no user name in the environment nor in the password database
        user = f"uid {os.getuid()}" if hasattr(os, "getuid") else "unknown"
    return f"cli:{user}"[:100]


DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help="SQLAlchemy URL; default $DATABASE_URL, else sqlite:///cart-scheduler.db",
        show_default=False,
    ),
]


def serve(
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    database_url: DatabaseUrl = None,
    solver_workers: Annotated[int, typer.Option(help="CP-SAT workers per plan solve")] = 2,
    log_format: Annotated[
        str, typer.Option(help="json: one JSON object per line with its request id; or text")
    ] = "json",
    ssl_certfile: Annotated[
        str | None, typer.Option(help="serve HTTPS with this PEM certificate", show_default=False)
    ] = None,
    ssl_keyfile: Annotated[
        str | None, typer.Option(help="the certificate's PEM private key", show_default=False)
    ] = None,
    broker: Annotated[
        str | None,
        typer.Option(
            help="send solves to Celery workers via this broker (default $CART_BROKER_URL; "
            "none: solve in this process)",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Run the HTTP service (plans, publishing, availability, bookings, audit)."""
    import uvicorn

    if log_format not in ("json", "text"):
        Console(stderr=True).print(f"error: --log-format is json or text, not {log_format!r}")
        raise typer.Exit(2)
    if (ssl_certfile is None) != (ssl_keyfile is None):
        Console(stderr=True).print("error: --ssl-certfile and --ssl-keyfile go together")
        raise typer.Exit(2)
    url = resolved_url(database_url_from_env(database_url))
    # Which file holds the plans and the audit trail is the first thing an operator checks.
    print(f"database: {redacted(url)}", file=sys.stderr)
    app = create_app(url, solver_workers=solver_workers, broker_url=broker)
    engine = app.state.settings.broker_url
    print(
        f"solves: {redacted(engine) + ' (Celery workers)' if engine else 'here'}", file=sys.stderr
    )
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_config=log_config(json_lines=log_format == "json"),
        ssl_certfile=ssl_certfile,
        ssl_keyfile=ssl_keyfile,
    )


def redacted(url: str) -> str:
    """The URL without its password, for printing."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@keys.command("create")
def keys_create(
    role: Annotated[str, typer.Option(help=f"one of: {', '.join(ROLES)}")],
    name: Annotated[str, typer.Option(help="who holds the key (shown in the audit trail)")],
    hospital: Annotated[
        list[str] | None,
        typer.Option(
            help="an order-system key books only for these hospitals (repeat the option)",
            show_default=False,
        ),
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Create a key and print it (once: only its hash is stored)."""
    if role not in ROLES:
        Console(stderr=True).print(f"error: --role must be one of {', '.join(ROLES)}, not {role!r}")
        raise typer.Exit(2)
    engine = create_db_engine(database_url_from_env(database_url))
    migrate(engine)
    try:
        key = create_key(engine, name, role, hospital, actor=command_actor())
    except ValueError as error:
        Console(stderr=True).print(f"error: {error}")
        raise typer.Exit(2) from error
    finally:
        engine.dispose()
    if role == ORDER_SYSTEM:
        scope = f"hospitals {', '.join(sorted(set(hospital)))}" if hospital else "every hospital"
        Console(stderr=True).print(f"this order-system key books for {scope}")
    print(key)


@keys.command("list")
def keys_list(database_url: DatabaseUrl = None) -> None:
    """List the keys (names and roles; the keys themselves are not stored)."""
    engine = create_db_engine(database_url_from_env(database_url))
    migrate(engine)
    table = Table("name", "role", "hospitals", "created", "revoked")
    with session_factory(engine)() as session:
        for key in session.scalars(select(ApiKey).order_by(ApiKey.id)):
            table.add_row(
                key.name,
                key.role,
                ", ".join(key.hospitals) if key.hospitals else "all",
                f"{key.created_at:%Y-%m-%d %H:%M}",
                "" if key.revoked_at is None else f"{key.revoked_at:%Y-%m-%d %H:%M}",
            )
    engine.dispose()
    Console().print(table)


@keys.command("revoke")
def keys_revoke(
    name: Annotated[str, typer.Argument(help="the key's name")],
    reason: Annotated[
        str,
        typer.Option(help=f"why (1 to {MAX_REASON} characters; kept in the audit trail)"),
    ],
    database_url: DatabaseUrl = None,
) -> None:
    """Revoke a key: it is refused from now on; who, when and why go into the audit trail."""
    engine = create_db_engine(database_url_from_env(database_url))
    migrate(engine)
    try:
        revoke_key(engine, name, reason, actor=command_actor())
    except ValueError as error:
        Console(stderr=True).print(f"error: {error}")
        raise typer.Exit(2) from error
    finally:
        engine.dispose()
    print(f"revoked {name}")


@audit.command("verify")
def audit_verify(database_url: DatabaseUrl = None) -> None:
    """Check the audit trail's hash chain: exit 0 when whole, 1 naming the first broken entry."""
    engine = create_db_engine(database_url_from_env(database_url))
    try:
        migrate(engine)
        check = verify_chain(engine)
    finally:
        engine.dispose()
    if check.whole:
        print(f"audit trail intact: {check.count} entries, last hash {check.last_hash}")
        return
    at = "?" if check.broken_at is None else check.broken_at.isoformat()
    print(
        f"audit trail broken at entry id {check.broken_id} (at {at}, action {check.broken_action}): "
        f"{check.problem}; the {check.count} entries before it are intact"
    )
    raise typer.Exit(1)
