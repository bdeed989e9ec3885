"""aioslsk 1.7.1 as a live Soulseek peer for the Rust integration tests, on
loopback only (tests/tests/support/aioslsk_peer.rs drives it).

Usage: ``python aioslsk_peer.py --deadline SECONDS [--log-level LEVEL]``

Reads one JSON command per line on stdin and writes JSON lines on stdout;
logs go to stderr. Every command is an object with an ``id`` (any JSON value,
echoed in the reply) and a ``cmd``; commands run concurrently, so replies may
come out of order::

    -> {"id": 1, "cmd": "login"}
    <- {"type": "reply", "id": 1, "ok": true, "result": {...}}
    <- {"type": "reply", "id": 1, "ok": false, "error": {"kind": "AuthenticationError", "message": "...", "reason": "INVALIDPASS"}}
    <- {"type": "event", "event": "private_message", ...}

The commands are the ``cmd_*`` methods of ``Driver``, the events its ``on_*``
methods; the rustdoc of tests/tests/support/aioslsk_peer.rs lists both with
their fields.

The driver stops by itself when stdin closes (exit status 0), on the
``stop`` command (0), or at the deadline (event ``deadline``, exit status
124). Loopback safety: the guard of ``loopback_guard`` is installed before
aioslsk is imported, aioslsk's listening host is set to 127.0.0.1, UPnP is
disabled and the server is always 127.0.0.1.
"""

import argparse
import asyncio
import dataclasses
import enum
import importlib.metadata
import json
import logging
import os
import socket
import sys
import traceback

import loopback_guard

loopback_guard.install()

# Only the driver writes on the real stdout; anything else printing goes to
# stderr and cannot corrupt the JSON stream.
OUT = sys.stdout
sys.stdout = sys.stderr

import aioslsk.constants  # noqa: E402
import aioslsk.network.network  # noqa: E402

# The listening host is copied into aioslsk.network.network at import time;
# both are set so that no later import can bring back 0.0.0.0.
aioslsk.constants.DEFAULT_LISTENING_HOST = "127.0.0.1"
aioslsk.network.network.DEFAULT_LISTENING_HOST = "127.0.0.1"

from aioslsk.client import SoulSeekClient  # noqa: E402
from aioslsk.commands import (  # noqa: E402
    GetUserStatsCommand,
    GetUserStatusCommand,
    JoinRoomCommand,
    LeaveRoomCommand,
    PeerGetDirectoryContentCommand,
    PeerGetSharesCommand,
    PeerGetUserInfoCommand,
    PrivateMessageCommand,
    RoomMessageCommand,
    SetRoomTickerCommand,
    SetStatusCommand,
)
from aioslsk.events import (  # noqa: E402
    AdminMessageEvent,
    ConnectionStateChangedEvent,
    KickedEvent,
    PrivateMessageEvent,
    PublicMessageEvent,
    RoomJoinedEvent,
    RoomLeftEvent,
    RoomMembersEvent,
    RoomMembershipGrantedEvent,
    RoomMembershipRevokedEvent,
    RoomMessageEvent,
    RoomOperatorGrantedEvent,
    RoomOperatorRevokedEvent,
    RoomOperatorsEvent,
    RoomTickerAddedEvent,
    RoomTickerRemovedEvent,
    RoomTickersEvent,
    ScanCompleteEvent,
    SearchRequestReceivedEvent,
    SearchResultEvent,
    SessionDestroyedEvent,
    TransferAddedEvent,
    TransferProgressEvent,
    UserStatusUpdateEvent,
)
from aioslsk.exceptions import AuthenticationError  # noqa: E402
from aioslsk.network.connection import ConnectionState, PeerConnection, ServerConnection  # noqa: E402
from aioslsk.network.network import PeerConnectMode  # noqa: E402
from aioslsk.settings import (  # noqa: E402
    CredentialsSettings,
    ListeningSettings,
    NetworkSettings,
    PeerSettings,
    ReconnectSettings,
    ServerSettings,
    Settings,
    SharedDirectorySettingEntry,
    SharesSettings,
    TransferLimitSettings,
    TransfersSettings,
    UpnpSettings,
    UserInfoSettings,
)
from aioslsk.transfer.model import TransferDirection  # noqa: E402
from aioslsk.user.model import UserStatus  # noqa: E402
from aioslsk.transfer.state import TransferState  # noqa: E402

log = logging.getLogger("aioslsk_peer")

DEADLINE_EXIT = 124
STOP_GRACE = 10.0
"""Seconds aioslsk gets to close its connections when the driver stops."""
MAX_LINE = 1 << 20
"""Longest command line read from stdin, in bytes."""

TERMINAL_STATES = {
    TransferState.COMPLETE: "transfer_complete",
    TransferState.FAILED: "transfer_failed",
    TransferState.ABORTED: "transfer_aborted",
    TransferState.INCOMPLETE: "transfer_incomplete",
}


class CommandError(Exception):
    """A command's bad argument or wrong moment, reported in its reply."""


def emit(obj):
    try:
        OUT.write(json.dumps(obj, default=plain, ensure_ascii=False) + "\n")
        OUT.flush()
    except OSError:
        # The harness is gone; stdin closes too and the driver stops.
        log.warning("stdout closed: dropped %s", obj.get("event") or obj.get("id"))


def event(name, **fields):
    emit({"type": "event", "event": name, **fields})


def plain(value):
    """aioslsk's values as JSON data: enums by name, bytes by length."""
    if isinstance(value, enum.Enum):
        return value.name
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, (bytes, bytearray)):
        return {"bytes": len(value)}
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    return repr(value)


def file_json(item):
    return {
        "filename": item.filename,
        "filesize": item.filesize,
        "extension": item.extension,
        "attributes": [[a.key, a.value] for a in item.attributes],
    }


def directory_json(directory):
    return {"name": directory.name, "files": [file_json(f) for f in directory.files]}


def transfer_json(transfer, snapshot=None):
    state = snapshot.state if snapshot else transfer.state.VALUE
    return {
        "username": transfer.username,
        "remote_path": transfer.remote_path,
        "direction": transfer.direction.name,
        "state": state.name,
        "bytes_transferred": snapshot.bytes_transfered if snapshot else transfer.bytes_transfered,
        "filesize": transfer.filesize,
        "local_path": transfer.local_path,
        "fail_reason": transfer.fail_reason,
        "abort_reason": transfer.abort_reason,
    }


def user_json(user):
    return {
        "name": user.name,
        "status": user.status.name,
        "privileged": user.privileged,
        "avg_speed": user.avg_speed,
        "uploads": user.uploads,
        "shared_file_count": user.shared_file_count,
        "shared_folder_count": user.shared_folder_count,
    }


def arg(command, name, kind, default=...):
    value = command.get(name, default)
    if value is ...:
        raise CommandError(f"missing argument {name!r}")
    kinds = kind if isinstance(kind, tuple) else (kind,)
    # bool is an int in Python; a flag is not a number here.
    if value is not None and (not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds)):
        raise CommandError(f"argument {name!r} must be {' or '.join(k.__name__ for k in kinds)}")
    return value


class Driver:
    def __init__(self):
        self.client = None
        self.tasks = set()
        self.stopping = asyncio.Event()
        self.exit_code = 0
        loopback_guard.on_refusal = self.on_guard_refusal

    # ----- commands -----

    async def cmd_ping(self, c):
        return {"aioslsk": importlib.metadata.version("aioslsk")}

    async def cmd_start(self, c):
        if self.client is not None:
            raise CommandError("already started")
        shared = arg(c, "shared_dirs", list, [])
        modes = {mode.value: mode for mode in PeerConnectMode}
        connect_mode = arg(c, "peer_connect_mode", str, "race")
        if connect_mode not in modes:
            raise CommandError(f"argument 'peer_connect_mode' must be one of {sorted(modes)}")
        settings = Settings(
            credentials=CredentialsSettings(
                username=arg(c, "username", str),
                password=arg(c, "password", str),
                info=UserInfoSettings(description=arg(c, "description", str, None)),
            ),
            network=NetworkSettings(
                server=ServerSettings(
                    hostname="127.0.0.1",
                    port=arg(c, "server_port", int),
                    reconnect=ReconnectSettings(auto=False),
                ),
                listening=ListeningSettings(
                    port=arg(c, "listen_port", int),
                    obfuscated_port=arg(c, "obfuscated_port", int, 0),
                ),
                peer=PeerSettings(connect_mode=modes[connect_mode]),
                upnp=UpnpSettings(enabled=False),
            ),
            shares=SharesSettings(
                scan_on_start=arg(c, "scan_on_start", bool, True),
                download=arg(c, "download_dir", str),
                directories=[SharedDirectorySettingEntry(path=p) for p in shared],
            ),
            transfers=TransfersSettings(
                limits=TransferLimitSettings(upload_slots=arg(c, "upload_slots", int, 2)),
                report_interval=0.1,
            ),
        )
        if settings.network.upnp.enabled or settings.network.server.hostname != "127.0.0.1":
            raise CommandError("refusing settings that leave loopback")
        self.client = SoulSeekClient(settings)
        self.register_events(self.client.events)
        await self.client.start()
        port, obfuscated_port = self.client.network.get_listening_ports()
        return {"listen_port": port, "obfuscated_port": obfuscated_port}

    async def cmd_login(self, c):
        client = self.started()
        if client.session is not None:
            # aioslsk's login reads the reply itself, racing its own reader
            # task on a logged-in connection: the connection breaks.
            raise CommandError("already logged in")
        async with asyncio.timeout(arg(c, "timeout", (int, float), 20)):
            await client.login()
        session = client.session
        return {"username": session.user.name, "ip": session.ip_address, "greeting": session.greeting}

    async def cmd_send_private_message(self, c):
        await self.started()(PrivateMessageCommand(arg(c, "user", str), arg(c, "text", str)))
        return {}

    async def cmd_get_user_info(self, c):
        info = await self.started()(
            PeerGetUserInfoCommand(arg(c, "user", str)),
            response=True,
            timeout=arg(c, "timeout", (int, float), 15),
        )
        return {
            "description": info.description,
            "picture": info.picture.hex() if info.picture else None,
            "has_slots_free": info.has_slots_free,
            "upload_slots": info.upload_slots,
            "queue_length": info.queue_length,
            "upload_permissions": info.upload_permissions.name,
        }

    async def cmd_set_user_info(self, c):
        # aioslsk reads these settings on every PeerUserInfoRequest.
        settings = self.started().settings
        if "description" in c:
            settings.credentials.info.description = arg(c, "description", str)
        if "upload_slots" in c:
            settings.transfers.limits.upload_slots = arg(c, "upload_slots", int)
        return {}

    async def cmd_get_user_status(self, c):
        status = await self.started()(GetUserStatusCommand(arg(c, "user", str)), response=True)
        return {"status": status.status.name, "privileged": status.privileged}

    async def cmd_get_user_stats(self, c):
        stats = await self.started()(GetUserStatsCommand(arg(c, "user", str)), response=True)
        return stats._asdict()

    async def cmd_global_search(self, c):
        request = await self.started().searches.search(arg(c, "query", str))
        return {"ticket": request.ticket}

    async def cmd_user_search(self, c):
        request = await self.started().searches.search_user(arg(c, "user", str), arg(c, "query", str))
        return {"ticket": request.ticket}

    async def cmd_room_search(self, c):
        request = await self.started().searches.search_room(arg(c, "room", str), arg(c, "query", str))
        return {"ticket": request.ticket}

    async def cmd_browse(self, c):
        directories, locked = await self.started()(
            PeerGetSharesCommand(arg(c, "user", str)),
            response=True,
            timeout=arg(c, "timeout", (int, float), 15),
        )
        return {
            "directories": [directory_json(d) for d in directories],
            "locked_directories": [directory_json(d) for d in locked],
        }

    async def cmd_get_directory(self, c):
        directories = await self.started()(
            PeerGetDirectoryContentCommand(arg(c, "user", str), arg(c, "directory", str)),
            response=True,
            timeout=arg(c, "timeout", (int, float), 15),
        )
        return {"directories": [directory_json(d) for d in directories]}

    async def cmd_list_shares(self, c):
        # What this peer shares, as another user would browse it: the remote
        # paths to download are "<directory name>\\<filename>".
        directories, locked = self.started().shares.create_shares_reply(arg(c, "as_user", str, ""))
        return {
            "directories": [directory_json(d) for d in directories],
            "locked_directories": [directory_json(d) for d in locked],
        }

    async def cmd_distributed_state(self, c):
        client = self.started()
        network = client.distributed_network
        root, level = None, None
        if client.session is not None:
            root, level = network._get_advertised_branch_values()
        return {
            "parent": network.parent.username if network.parent else None,
            "branch_level": level,
            "branch_root": root,
            "children": [child.username for child in network.children],
        }

    async def cmd_scan(self, c):
        client = self.started()
        await client.shares.scan()
        folders, files = client.shares.get_stats()
        return {"folder_count": folders, "file_count": files}

    async def cmd_download(self, c):
        transfer = await self.started().transfers.download(arg(c, "user", str), arg(c, "remote_path", str))
        return transfer_json(transfer)

    async def cmd_join_room(self, c):
        room = await self.started()(
            JoinRoomCommand(arg(c, "room", str), private=arg(c, "private", bool, False)),
            response=True,
            timeout=arg(c, "timeout", (int, float), 10),
        )
        return {"room": room.name, "private": room.private, "users": [u.name for u in room.users]}

    async def cmd_say_room(self, c):
        wait = arg(c, "wait_echo", bool, False)
        await self.started()(
            RoomMessageCommand(arg(c, "room", str), arg(c, "text", str)),
            response=wait,
            timeout=arg(c, "timeout", (int, float), 10),
        )
        return {}

    async def cmd_leave_room(self, c):
        room = await self.started()(
            LeaveRoomCommand(arg(c, "room", str)),
            response=True,
            timeout=arg(c, "timeout", (int, float), 10),
        )
        return {"room": room.name}

    async def cmd_room_info(self, c):
        # What aioslsk knows of a room (joined or not): its model as kept
        # from the server's messages.
        name = arg(c, "room", str)
        room = self.started().rooms.rooms.get(name)
        if room is None:
            raise CommandError(f"aioslsk knows no room {name!r}")
        return {
            "room": room.name,
            "private": room.private,
            "joined": room.joined,
            "owner": room.owner,
            "members": sorted(room.members),
            "operators": sorted(room.operators),
            "tickers": [[user, ticker] for user, ticker in room.tickers.items()],
            "users": [user_json(u) for u in room.users],
        }

    async def cmd_set_room_ticker(self, c):
        wait = arg(c, "wait_echo", bool, False)
        await self.started()(
            SetRoomTickerCommand(arg(c, "room", str), arg(c, "ticker", str)),
            response=wait,
            timeout=arg(c, "timeout", (int, float), 10),
        )
        return {}

    async def cmd_set_status(self, c):
        # ONLINE or AWAY, the two a client may set.
        name = arg(c, "status", str)
        if name not in ("ONLINE", "AWAY"):
            raise CommandError("status must be ONLINE or AWAY")
        await self.started()(SetStatusCommand(UserStatus[name]))
        return {}

    async def cmd_check_guard(self, c):
        if self.client is not None:
            raise CommandError("check_guard runs before start: its tripwire would trip aioslsk too")
        return await check_guard()

    async def cmd_simulate_escape(self, c):
        # How a real refusal reaches the harness (a `guard_refused` event),
        # with the tripwire as a net should the guard let it through.
        if self.client is not None:
            raise CommandError("simulate_escape runs before start: its tripwire would trip aioslsk too")
        with loopback_guard.tripwire(report=True):
            try:
                await asyncio.open_connection(GUARD_PROBE, 9)
            except loopback_guard.NonLoopbackRefused as exc:
                return {"layer": exc.layer}
            except loopback_guard.TripwireHit as exc:
                raise CommandError(f"the guard let {exc.address!r} through") from exc
        raise CommandError("open_connection returned under the tripwire")

    async def cmd_stop(self, c):
        self.stopping.set()
        return {}

    def started(self):
        if self.client is None:
            raise CommandError("not started: send `start` first")
        return self.client

    # ----- events -----

    def register_events(self, bus):
        # The event bus holds weak references: bound methods of this
        # long-lived object stay registered.
        for event_class, listener in [
            (PrivateMessageEvent, self.on_private_message),
            (RoomMessageEvent, self.on_room_message),
            (PublicMessageEvent, self.on_public_message),
            (RoomJoinedEvent, self.on_room_joined),
            (RoomLeftEvent, self.on_room_left),
            (SearchResultEvent, self.on_search_result),
            (SearchRequestReceivedEvent, self.on_search_request_received),
            (TransferAddedEvent, self.on_transfer_added),
            (TransferProgressEvent, self.on_transfer_progress),
            (KickedEvent, self.on_kicked),
            (AdminMessageEvent, self.on_admin_message),
            (ConnectionStateChangedEvent, self.on_connection_state),
            (SessionDestroyedEvent, self.on_session_destroyed),
            (ScanCompleteEvent, self.on_scan_complete),
            (UserStatusUpdateEvent, self.on_user_status),
            (RoomTickersEvent, self.on_room_tickers),
            (RoomTickerAddedEvent, self.on_room_ticker_added),
            (RoomTickerRemovedEvent, self.on_room_ticker_removed),
            (RoomMembershipGrantedEvent, self.on_room_membership_granted),
            (RoomMembershipRevokedEvent, self.on_room_membership_revoked),
            (RoomOperatorGrantedEvent, self.on_room_operator_granted),
            (RoomOperatorRevokedEvent, self.on_room_operator_revoked),
            (RoomMembersEvent, self.on_room_members),
            (RoomOperatorsEvent, self.on_room_operators),
        ]:
            bus.register(event_class, listener)

    def on_private_message(self, e):
        m = e.message
        event("private_message", id=m.id, timestamp=m.timestamp, user=m.user.name, text=m.message, is_direct=m.is_direct)

    def on_room_message(self, e):
        m = e.message
        event("room_message", room=m.room.name, user=m.user.name, text=m.message)

    def on_public_message(self, e):
        event("public_message", room=e.room.name, user=e.user.name, text=e.message)

    def on_room_joined(self, e):
        event("room_joined", room=e.room.name, user=e.user.name if e.user else None)

    def on_room_left(self, e):
        event("room_left", room=e.room.name, user=e.user.name if e.user else None)

    def on_search_result(self, e):
        r = e.result
        event(
            "search_result",
            ticket=r.ticket,
            query=e.query.query,
            username=r.username,
            has_free_slots=r.has_free_slots,
            avg_speed=r.avg_speed,
            queue_size=r.queue_size,
            files=[file_json(f) for f in r.shared_items],
            locked_files=[file_json(f) for f in r.locked_results],
        )

    def on_search_request_received(self, e):
        event("search_request_received", username=e.username, query=e.query, result_count=e.result_count)

    def on_transfer_added(self, e):
        event("transfer_added", **transfer_json(e.transfer))

    def on_transfer_progress(self, e):
        for transfer, previous, current in e.updates:
            event("transfer_progress", **transfer_json(transfer, current))
            if current.state != previous.state and current.state in TERMINAL_STATES:
                event(TERMINAL_STATES[current.state], **transfer_json(transfer, current))

    def on_kicked(self, e):
        event("kicked")

    def on_admin_message(self, e):
        event("admin_message", message=e.message)

    def on_connection_state(self, e):
        if e.state != ConnectionState.CLOSED:
            return
        reason = e.close_reason.name if e.close_reason else None
        if isinstance(e.connection, ServerConnection):
            event("server_disconnected", reason=reason)
        elif isinstance(e.connection, PeerConnection):
            # aioslsk closes a P connection right after reading search results
            # from it; a test waits for this before asking the same peer more.
            event("peer_disconnected", user=e.connection.username,
                  connection_type=e.connection.connection_type, reason=reason)

    def on_session_destroyed(self, e):
        event("session_destroyed")

    def on_scan_complete(self, e):
        event("scan_complete", folder_count=e.folder_count, file_count=e.file_count)

    def on_user_status(self, e):
        event("user_status", user=e.current.name, status=e.current.status.name, privileged=e.current.privileged)

    def on_room_tickers(self, e):
        event("room_tickers", room=e.room.name, tickers=[[user, ticker] for user, ticker in e.tickers.items()])

    def on_room_ticker_added(self, e):
        event("room_ticker_added", room=e.room.name, user=e.user.name, ticker=e.ticker)

    def on_room_ticker_removed(self, e):
        event("room_ticker_removed", room=e.room.name, user=e.user.name)

    # For the four below, `member` is null when the change is about this peer.

    def on_room_membership_granted(self, e):
        event("room_membership_granted", room=e.room.name, member=e.member.name if e.member else None)

    def on_room_membership_revoked(self, e):
        event("room_membership_revoked", room=e.room.name, member=e.member.name if e.member else None)

    def on_room_operator_granted(self, e):
        event("room_operator_granted", room=e.room.name, member=e.member.name if e.member else None)

    def on_room_operator_revoked(self, e):
        event("room_operator_revoked", room=e.room.name, member=e.member.name if e.member else None)

    def on_room_members(self, e):
        event("room_members", room=e.room.name, members=[u.name for u in e.members])

    def on_room_operators(self, e):
        event("room_operators", room=e.room.name, operators=sorted(u.name for u in e.operators))

    def on_guard_refusal(self, layer, address):
        log.error("loopback guard refused %r at %s", address, layer)
        event("guard_refused", layer=layer, address=repr(address))

    # ----- the loop -----

    async def run_command(self, line):
        try:
            command = json.loads(line)
        except json.JSONDecodeError as exc:
            emit({"type": "reply", "id": None, "ok": False, "error": {"kind": "BadJson", "message": str(exc)}})
            return
        if not isinstance(command, dict):
            emit({"type": "reply", "id": None, "ok": False, "error": {"kind": "BadCommand", "message": "not an object"}})
            return
        ident = command.get("id")
        handler = getattr(self, f"cmd_{command.get('cmd')}", None) if isinstance(command.get("cmd"), str) else None
        try:
            if handler is None:
                raise CommandError(f"unknown command {command.get('cmd')!r}")
            result = await handler(command)
            emit({"type": "reply", "id": ident, "ok": True, "result": result})
        except asyncio.CancelledError:
            emit({"type": "reply", "id": ident, "ok": False, "error": {"kind": "Cancelled", "message": "driver stopping"}})
            raise
        except Exception as exc:  # every failure is the command's answer
            log.info("command %r failed: %r", command.get("cmd"), exc, exc_info=not isinstance(exc, CommandError))
            error = {"kind": type(exc).__name__, "message": str(exc) or repr(exc)}
            if isinstance(exc, TimeoutError):
                error["kind"] = "Timeout"
            if isinstance(exc, AuthenticationError):
                error.update(message=exc.message, reason=exc.reason)
            elif not isinstance(exc, (CommandError, TimeoutError)):
                error["traceback"] = traceback.format_exc()
            emit({"type": "reply", "id": ident, "ok": False, "error": error})

    async def read_commands(self):
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=MAX_LINE)
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        while not self.stopping.is_set():
            try:
                line = await reader.readline()
            except ValueError:  # longer than MAX_LINE
                emit({"type": "reply", "id": None, "ok": False, "error": {"kind": "LineTooLong", "message": f"over {MAX_LINE} bytes"}})
                continue
            if not line:
                log.info("stdin closed: stopping")
                self.stopping.set()
                return
            if line.strip():
                task = asyncio.create_task(self.run_command(line))
                self.tasks.add(task)
                task.add_done_callback(self.tasks.discard)

    async def main(self, deadline):
        loop = asyncio.get_running_loop()

        def at_deadline():
            log.warning("deadline of %s s reached: stopping", deadline)
            event("deadline", seconds=deadline)
            self.exit_code = DEADLINE_EXIT
            self.stopping.set()

        loop.call_later(deadline, at_deadline)
        event("driver_ready", aioslsk=importlib.metadata.version("aioslsk"), pid=os.getpid())
        reader = asyncio.create_task(self.read_commands())
        await self.stopping.wait()
        reader.cancel()
        if self.client is not None:
            try:
                async with asyncio.timeout(STOP_GRACE):
                    await self.client.stop()
            except Exception:
                log.warning("aioslsk did not stop cleanly", exc_info=True)
        # Let the reply to `stop` (or a command finishing) go out, then end
        # the rest.
        await asyncio.sleep(0)
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        event("driver_stopped", exit_code=self.exit_code)
        return self.exit_code


# ----- the guard's self-check -----

GUARD_PROBE = "192.0.2.1"
"""TEST-NET-1 (RFC 5737), reserved for documentation; never contacted: the
check runs under the guard's tripwire."""


async def check_guard():
    """Tries every guarded way out with non-loopback addresses under the
    tripwire, then one loopback connection without it (to show the guard is
    not simply refusing everything)."""
    loop = asyncio.get_running_loop()

    async def on_client(reader, writer):
        writer.close()

    def probe_socket(kind, action):
        async def run():
            with socket.socket(socket.AF_INET, kind) as sock:
                action(sock)

        return run

    attempts = [
        ("asyncio.open_connection", lambda: asyncio.open_connection(GUARD_PROBE, 9)),
        ("asyncio.open_connection", lambda: asyncio.open_connection("0.0.0.0", 9)),
        ("asyncio.open_connection", lambda: asyncio.open_connection("localhost", 9)),
        ("asyncio.open_connection", lambda: asyncio.open_connection("::ffff:192.0.2.1", 9)),
        ("asyncio.open_connection", lambda: asyncio.open_connection("127.0.0.1.example", 9)),
        ("asyncio.start_server", lambda: asyncio.start_server(on_client, "0.0.0.0", 0)),
        ("loop.create_connection", lambda: loop.create_connection(asyncio.Protocol, GUARD_PROBE, 9)),
        ("loop.create_server", lambda: loop.create_server(asyncio.Protocol, None, 0)),
        (
            "loop.create_datagram_endpoint",
            lambda: loop.create_datagram_endpoint(asyncio.DatagramProtocol, remote_addr=("239.255.255.250", 1900)),
        ),
        ("socket.connect", probe_socket(socket.SOCK_STREAM, lambda s: s.connect((GUARD_PROBE, 9)))),
        ("socket.connect_ex", probe_socket(socket.SOCK_STREAM, lambda s: s.connect_ex((GUARD_PROBE, 9)))),
        ("socket.bind", probe_socket(socket.SOCK_STREAM, lambda s: s.bind(("0.0.0.0", 0)))),
        ("socket.sendto", probe_socket(socket.SOCK_DGRAM, lambda s: s.sendto(b"x", (GUARD_PROBE, 9)))),
        ("socket.sendmsg", probe_socket(socket.SOCK_DGRAM, lambda s: s.sendmsg([b"x"], [], 0, (GUARD_PROBE, 9)))),
        ("socket.getaddrinfo", lambda: loop.getaddrinfo("example.invalid", 9)),
    ]
    results = []
    with loopback_guard.tripwire():
        for expected, attempt in attempts:
            outcome = {"expected_layer": expected}
            try:
                await attempt()
                outcome["outcome"] = "succeeded"
            except loopback_guard.NonLoopbackRefused as exc:
                outcome.update(outcome="refused", layer=exc.layer, address=repr(exc.address))
            except loopback_guard.TripwireHit as exc:
                outcome.update(outcome="tripwire", layer=exc.layer, address=repr(exc.address))
            except Exception as exc:
                outcome.update(outcome="other_error", error=repr(exc))
            results.append(outcome)

    # The control: loopback still works with the guard installed.
    server = await asyncio.start_server(on_client, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with asyncio.timeout(5):
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
        loopback = "connected"
    except Exception as exc:
        loopback = repr(exc)
    finally:
        server.close()
        await server.wait_closed()
    return {"attempts": results, "loopback_control": loopback}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deadline", type=float, required=True, help="seconds after which the driver stops by itself")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args()
    logging.basicConfig(
        stream=sys.stderr,
        level=args.log_level.upper(),
        format="%(asctime)s aioslsk_peer[%(process)d] %(levelname)s %(name)s: %(message)s",
    )
    # pydantic-settings would read Settings fields from like-named environment
    # variables; the driver's settings come from its commands only.
    for name in list(os.environ):
        if name.lower() in Settings.model_fields:
            del os.environ[name]
    code = asyncio.run(Driver().main(args.deadline))
    OUT.flush()
    sys.stderr.flush()
    # Not a normal exit: aioslsk's executor threads must not keep the
    # process alive past its deadline.
    os._exit(code)


if __name__ == "__main__":
    main()
