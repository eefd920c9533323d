"""The local AWS of the tests and the demo: moto's server on 127.0.0.1, patched where moto differs
from AWS in ways this project meets (see patches/ and docs/emulator.md).

Prints `EMULATOR_PORT=<port>` once it listens. It stops with its owner: the owner holds our stdin,
and end-of-file on it (the owner exited, however it died) shuts the server down. `--foreground`
instead runs until SIGINT/SIGTERM, for a person who wants to keep the emulator up.
"""

import argparse
import os
import signal
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import patches  # noqa: E402

patches.apply_all()

from moto.moto_server.threaded_moto_server import ThreadedMotoServer  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--foreground", action="store_true", help="ignore stdin; stop on a signal")
    args = parser.parse_args()

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=args.port, verbose=False)
    server.start()
    _, port = server.get_host_and_port()
    print(f"EMULATOR_PORT={port}", flush=True)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    if not args.foreground:
        def watch_owner() -> None:
            while sys.stdin.buffer.read(4096):
                pass
            stop.set()

        threading.Thread(target=watch_owner, daemon=True).start()
    stop.wait()
    # The server thread is a daemon and may be mid-request; exiting the process is the stop.
    os._exit(0)


if __name__ == "__main__":
    main()
