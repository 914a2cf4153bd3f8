import hashlib
import uuid


def new_id() -> str:
    return str(uuid.uuid4())


def name_id(namespace: uuid.UUID, name: str) -> str:
    """`str(uuid.uuid5(namespace, name))`, at less than half the cost (it runs once per ingested event)."""
    digest = bytearray(hashlib.sha1(namespace.bytes + name.encode()).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = digest.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
