"""DynamoDB Local (AWS's own engine, from the npm package amplify-dynamodb-simulator), run with Java."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from local_stack.ports import free_port, wait_for_port

ROOT = Path(__file__).resolve().parent.parent
EMULATOR = ROOT / "node_modules" / "amplify-dynamodb-simulator" / "emulator"


def _die_with_parent() -> None:
    """SIGKILL DynamoDB Local when the thread that started it (the stack's main thread) dies, even by kill -9:
    an orphan would hold the data directory when the stack starts again."""
    import ctypes
    import signal

    PR_SET_PDEATHSIG = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


class DynamoDBLocal:
    def __init__(self, data_dir: Path | None = None, port: int | None = None) -> None:
        """data_dir=None keeps everything in memory; otherwise data survives restarts in data_dir."""
        self.data_dir = data_dir
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> DynamoDBLocal:
        jar = EMULATOR / "DynamoDBLocal.jar"
        if not jar.exists():
            raise FileNotFoundError(f"{jar} is missing: run `npm install` (make install does)")
        java = shutil.which("java")
        if java is None:
            raise FileNotFoundError("java is not on the PATH (make install installs a JRE)")
        # -sharedDb: one database whatever the credentials (each function signs with its own role's key).
        storage = ["-sharedDb", "-inMemory"]
        if self.data_dir is not None:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            # Absolute: Java runs in the emulator's folder, where a relative path means something else.
            storage = ["-sharedDb", "-dbPath", str(self.data_dir.resolve())]
        self.process = subprocess.Popen(
            [java, "-Xmx1g", f"-Djava.library.path={EMULATOR / 'DynamoDBLocal_lib'}", "-jar", str(jar),
             "-port", str(self.port), *storage],
            cwd=EMULATOR,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
        )
        try:
            wait_for_port(self.port, timeout=60, process=self.process)
        except RuntimeError as exc:
            raise RuntimeError(f"DynamoDB Local did not start: {exc}") from None
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.process = None
