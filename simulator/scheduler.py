"""--scheduler addresses: checked for form, then probed with a short timeout before Dask is handed them.

Dask trusts its peer: a listener that is not a Dask scheduler can make its client wait a long time or read a
garbage length and try to allocate that many bytes. A Dask scheduler speaks first on a new connection (its
handshake, framed by an 8-byte little-endian length), so reading those 8 bytes tells the two apart safely.
"""
from __future__ import annotations

import re
import socket
import struct

from models.errors import InputError

ADDRESS = re.compile(r"^tcp://(?P<host>[A-Za-z0-9][A-Za-z0-9.-]*|\[[0-9A-Fa-f:.]+\]):(?P<port>\d{1,5})$")
TIMEOUT_S = 3.0
MAX_HANDSHAKE = 1 << 20  # bytes; a Dask handshake is a few hundred


def parse_address(address: str) -> tuple[str, int]:
    m = ADDRESS.match(address or "")
    port = int(m.group("port")) if m else 0
    if m is None or not 1 <= port <= 65535:
        raise InputError(f"--scheduler {address!r}: expected tcp://HOST:PORT with a port in 1..65535, "
                         "e.g. tcp://127.0.0.1:8786")
    return m.group("host").strip("[]"), port


def probe_scheduler(address: str, timeout: float = TIMEOUT_S) -> None:
    host, port = parse_address(address)
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            s.settimeout(timeout)
            head = b""
            while len(head) < 8:
                chunk = s.recv(8 - len(head))
                if not chunk:
                    break
                head += chunk
    except socket.timeout:
        raise InputError(f"--scheduler {address}: no Dask scheduler answered within {timeout:g} s") from None
    except OSError as e:
        raise InputError(f"--scheduler {address}: cannot connect ({e.strerror or e}); is the scheduler "
                         "running there?") from None
    size = struct.unpack("<Q", head)[0] if len(head) == 8 else None
    if size is None or not 0 < size <= MAX_HANDSHAKE:
        found = "it closed the connection" if size is None else f"its first message claims {size} bytes"
        raise InputError(f"--scheduler {address}: expected a Dask scheduler's handshake, {found}: "
                         "this is not a Dask scheduler")


def connect_error(address: str, e: BaseException) -> InputError:
    first = (str(e).strip().splitlines() or [type(e).__name__])[0]
    return InputError(f"--scheduler {address}: the Dask client could not connect ({first[:200]})")
