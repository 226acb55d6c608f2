"""Protocol-buffers wire encoding by hand (no dependencies), for the few messages the test
stack writes to a real Prometheus: the protobuf exposition format (native_histograms.py)
and remote write (stack_helper.py demo-exemplars)."""

import struct


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def zigzag(n):
    return (n << 1) ^ (n >> 63)


def field_varint(num, n):
    """A varint field; negative int64 values as two's complement, as protobuf writes them."""
    return varint(num << 3) + varint(n & 0xFFFFFFFFFFFFFFFF)


def field_double(num, v):
    return varint((num << 3) | 1) + struct.pack("<d", v)


def field_bytes(num, b):
    return varint((num << 3) | 2) + varint(len(b)) + b


def label_pair(name, value):
    """io.prometheus.client.LabelPair and prometheus.Label: name = 1, value = 2."""
    return field_bytes(1, name.encode()) + field_bytes(2, value.encode())
