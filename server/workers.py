"""Several uvicorn workers, each with its own listening socket on the same port.

uvicorn's own `workers=N` shares one listening socket between the processes, and Linux hands
each new connection to the process that waited last: under load one worker takes most of a
client's keep-alive connections while the other idles (on the benchmark, two workers served
1.2-1.5 times what one did). With SO_REUSEPORT each worker listens on a socket of its own
and the kernel spreads connections over them evenly.
"""

from __future__ import annotations

import logging
import multiprocessing
import socket
import time
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess

log = logging.getLogger("dealerdesk.workers")

# A worker that dies sooner than this after starting is not restarted: it would only die
# again (a bad setting, the database unreachable at start...).
MIN_UPTIME_S = 5.0


def listening_socket(host: str, port: int, *, listen: bool) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    if listen:
        sock.listen(2048)
    return sock


def _worker(host: str, port: int, options: dict[str, object]) -> None:
    import uvicorn

    sock = listening_socket(host, port, listen=True)
    config = uvicorn.Config("server.main:create", factory=True, **options)  # type: ignore[arg-type]
    uvicorn.Server(config).run(sockets=[sock])


def run_workers(host: str, port: int, count: int, options: dict[str, object]) -> int:
    """Run `count` workers until this process is told to stop (SystemExit or Ctrl-C), then
    stop them gracefully; a worker that dies is replaced. Returns the exit status."""
    # Bound but not listening: the port is ours (a second server fails here, at once), and
    # the kernel gives this socket no connections.
    guard = listening_socket(host, port, listen=False)
    context = multiprocessing.get_context("spawn")

    def start() -> tuple[BaseProcess, float]:
        process = context.Process(target=_worker, args=(host, port, options), daemon=False)
        process.start()
        return process, time.monotonic()

    workers = [start() for _ in range(count)]
    try:
        while True:
            wait([process.sentinel for process, _ in workers])
            for i, (process, started) in enumerate(workers):
                if process.is_alive():
                    continue
                if time.monotonic() - started < MIN_UPTIME_S:
                    log.error("worker %s exited at start (%s)", process.pid, process.exitcode)
                    return 1
                log.warning(
                    "worker %s exited (%s); starting another", process.pid, process.exitcode
                )
                workers[i] = start()
    finally:
        for process, _ in workers:
            if process.is_alive():
                process.terminate()  # SIGTERM: uvicorn finishes what it is serving
        for process, _ in workers:
            process.join(timeout=40)
            if process.is_alive():
                process.kill()
        guard.close()
