#!/usr/bin/env python3
# SPDX-License-Identifier: AGPL-3.0-or-later
# Writes the hand-made fuzz seeds (tests/fuzz/corpus/<target>/hand-*.bin):
# small valid datagrams and frames for the cases the project's encoder does
# not produce (template withdrawal, IE 315, enterprise fields, expanded sFlow
# samples, counter samples, tunnels). Run once; the .bin files are committed.
# Usage: tests/fuzz/corpus/handmade.py
import os
import struct

top = os.path.dirname(os.path.abspath(__file__))


def write(target, name, data):
    d = os.path.join(top, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "hand-" + name + ".bin"), "wb") as f:
        f.write(data)


def ip4(a):
    return bytes(int(x) for x in a.split("."))


# ---- frames for the L2-L4 parser ----
def csum_free_ipv4(payload, proto, src="192.0.2.1", dst="198.51.100.2", ident=0x1234):
    return struct.pack(">BBHHHBBH4s4s", 0x45, 8, 20 + len(payload), ident, 0, 64, proto, 0,
                       ip4(src), ip4(dst)) + payload


def tcp(sport=443, dport=51000, flags=0x18):
    return struct.pack(">HHIIBBHHH", sport, dport, 1, 2, 5 << 4, flags, 65535, 0, 0)


def udp(sport=53, dport=33000, payload=b"abcd"):
    return struct.pack(">HHHH", sport, dport, 8 + len(payload), 0) + payload


def icmp(t=8, c=0):
    return struct.pack(">BBHI", t, c, 0, 0x00010001)


def ipv6(payload, nh, src=b"\x20\x01\x0d\xb8" + b"\0" * 11 + b"\x01",
         dst=b"\x20\x01\x0d\xb8" + b"\0" * 11 + b"\x02"):
    return struct.pack(">IHBB", (6 << 28) | (0x20 << 20) | 0x12345, len(payload), nh, 64) + src + \
        dst + payload


def eth(payload, etype, vlans=()):
    h = bytes.fromhex("b4021655 92f4") + bytes.fromhex("182ad36e503f")
    for v in vlans:
        h += struct.pack(">HH", 0x8100, v)
    return h + struct.pack(">H", etype) + payload


def mpls(payload, labels):
    out = b""
    for i, l in enumerate(labels):
        out += struct.pack(">I", (l << 12) | ((i == len(labels) - 1) << 8) | 64)
    return out + payload


v4tcp = csum_free_ipv4(tcp(), 6)
v4udp = csum_free_ipv4(udp(), 17)
v4icmp = csum_free_ipv4(icmp(), 1)
v6tcp = ipv6(tcp(22, 46026, 0x10), 6)
# IPv6 with a hop-by-hop and a destination options header before UDP.
v6ext = ipv6(bytes([60, 0, 1, 4, 0, 0, 0, 0]) + bytes([17, 0, 1, 4, 0, 0, 0, 0]) + udp(), 0)
gre_inner = csum_free_ipv4(struct.pack(">HH", 0, 0x0800) + v4icmp, 47, "203.0.113.1",
                           "203.0.113.2")
ipip = csum_free_ipv4(v4tcp, 4, "203.0.113.1", "203.0.113.2")
vxlan = csum_free_ipv4(udp(40000, 4789, struct.pack(">II", 0x08000000, 42 << 8) +
                           eth(v4udp, 0x0800)), 17)
# SRv6: IPv6 with a segment routing header (routing type 4), inner IPv4.
srh = bytes([4, 2, 4, 0, 0, 0, 0, 0]) + b"\xfc\x00" + b"\0" * 13 + b"\x01"
srv6 = ipv6(srh + v4icmp, 43)

frames = {
    "eth-ipv4-tcp": (0, 0, eth(v4tcp, 0x0800)),
    "eth-qinq-ipv6-tcp": (0, 0, eth(v6tcp, 0x86dd, vlans=(100, 200))),
    "eth-ipv6-ext-udp": (0, 0, eth(v6ext, 0x86dd)),
    "eth-mpls-ipv4": (0, 0, eth(mpls(v4udp, [16, 17]), 0x8847)),
    "ipv4-icmp": (1, 0, v4icmp),
    "ipv6-tcp": (2, 0, v6tcp),
    "mpls-ipv6": (3, 0, mpls(v6tcp, [3000])),
    "gre": (0, 1, eth(gre_inner, 0x0800)),
    "ipip": (1, 2, ipip),
    "vxlan": (0, 3, eth(vxlan, 0x0800)),
    "srv6": (0, 4, eth(srv6, 0x86dd)),
}
for name, (start, decap, frame) in frames.items():
    write("fuzz_l2l4", name, bytes([start, decap]) + frame)

# ---- NetFlow v5 (Cisco: 24-byte header, 48-byte records) ----
def v5_record(src, dst, sport, dport, proto, nbytes):
    return ip4(src) + ip4(dst) + ip4("192.0.2.254") + struct.pack(
        ">HHIIIIHHBBBBHHBBH", 3, 4, 10, nbytes, 1000, 2000, sport, dport, 0, 0x18, proto, 0,
        65001, 65002, 24, 16, 0)


recs = [v5_record("198.51.100.1", "203.0.113.9", 443, 50000, 6, 1500),
        v5_record("198.51.100.2", "203.0.113.8", 53, 40000, 17, 80)]
write("fuzz_netflow_v5", "two-records",
      struct.pack(">HHIIIIBBH", 5, len(recs), 3600000, 1700000000, 0, 7, 0, 0, 0x4000 | 100) +
      b"".join(recs))

# ---- NetFlow v9 (RFC 3954) ----
def v9(sets, count, source_id=1):
    return struct.pack(">HHIIII", 9, count, 3600000, 1700000000, 1, source_id) + b"".join(sets)


def pad4(b):
    return b + b"\0" * (-len(b) % 4)


def flowset(fid, body):
    body = pad4(body)
    return struct.pack(">HH", fid, 4 + len(body)) + body


v9_fields = [(8, 4), (12, 4), (7, 2), (11, 2), (4, 1), (1, 4), (2, 4), (10, 2), (14, 2),
             (48, 1), (61, 1), (89, 1), (15, 4), (9, 1), (13, 1), (16, 4), (17, 4)]
v9_tmpl = flowset(0, struct.pack(">HH", 256, len(v9_fields)) +
                  b"".join(struct.pack(">HH", t, l) for t, l in v9_fields))


def v9_data_record(src, dst):
    return ip4(src) + ip4(dst) + struct.pack(">HHBIIHHBBB", 443, 50000, 6, 1500, 1, 3, 4, 1, 0,
                                             64) + ip4("192.0.2.254") + \
        struct.pack(">BBII", 24, 16, 65001, 65002)


v9_data = flowset(256, v9_data_record("198.51.100.1", "203.0.113.9") +
                  v9_data_record("198.51.100.2", "203.0.113.8"))
# Options template 257: scope system (1, 4 bytes); sampler id 48, interval 34.
v9_opt_tmpl = flowset(1, struct.pack(">HHHHHHHHH", 257, 4, 8, 1, 4, 48, 1, 34, 4))
v9_opt_data = flowset(257, struct.pack(">IBI", 0, 1, 1000))
write("fuzz_netflow_v9", "template-and-data", v9([v9_tmpl, v9_data], 3))
write("fuzz_netflow_v9", "options-template-and-data", v9([v9_opt_tmpl, v9_opt_data], 2))
write("fuzz_netflow_v9", "data-only", v9([v9_data], 2))
write("fuzz_netflow_v9", "data-before-template", v9([v9_data, v9_tmpl, v9_opt_tmpl], 4, 2))
# IPv6 template with MACs, VLANs, MPLS labels, ICMP type.
v9_fields6 = [(27, 16), (28, 16), (4, 1), (32, 2), (56, 6), (80, 6), (58, 2), (59, 2),
              (70, 3), (71, 3), (31, 3), (1, 8), (2, 8)]
v9_tmpl6 = flowset(0, struct.pack(">HH", 300, len(v9_fields6)) +
                   b"".join(struct.pack(">HH", t, l) for t, l in v9_fields6))
v9_data6 = flowset(300, b"\x20\x01\x0d\xb8" + b"\0" * 11 + b"\x01" + b"\x20\x01\x0d\xb8" +
                   b"\0" * 11 + b"\x02" + bytes([58]) + struct.pack(">H", 0x8000) +
                   bytes.fromhex("246e96907a50 246e96043c08") + struct.pack(">HH", 100, 200) +
                   bytes.fromhex("000101 000203 012345") + struct.pack(">QQ", 104, 1))
write("fuzz_netflow_v9", "ipv6-mac-mpls", v9([v9_tmpl6, v9_data6], 2))

# ---- IPFIX (RFC 7011) ----
def ipfix(sets, domain=1, seq=1):
    body = b"".join(sets)
    return struct.pack(">HHIII", 10, 16 + len(body), 1700000000, seq, domain) + body


def ie(t, l, pen=None):
    if pen is None:
        return struct.pack(">HH", t, l)
    return struct.pack(">HHI", t | 0x8000, l, pen)


def ipfix_set(sid, body):
    return struct.pack(">HH", sid, 4 + len(body)) + body


ipfix_fields = [ie(8, 4), ie(12, 4), ie(7, 2), ie(11, 2), ie(4, 1), ie(1, 8), ie(2, 8),
                ie(10, 4), ie(14, 4), ie(152, 8), ie(153, 8), ie(234, 4), ie(235, 4)]
ipfix_tmpl = ipfix_set(2, struct.pack(">HH", 256, len(ipfix_fields)) + b"".join(ipfix_fields))
ipfix_rec = ip4("198.51.100.1") + ip4("203.0.113.9") + struct.pack(
    ">HHBQQIIQQII", 443, 50000, 6, 1500, 1, 3, 4, 1700000000000, 1700000001000, 1, 2)
ipfix_data = ipfix_set(256, ipfix_rec + ipfix_rec)
write("fuzz_ipfix", "template-and-data", ipfix([ipfix_tmpl, ipfix_data]))
write("fuzz_ipfix", "data-only", ipfix([ipfix_data]))
# Withdrawal of template 256 (field count 0, RFC 7011 8.1) and of all (template id 2).
write("fuzz_ipfix", "withdrawal", ipfix([ipfix_set(2, struct.pack(">HH", 256, 0)),
                                          ipfix_set(2, struct.pack(">HH", 2, 0))]))
# Options template 258: scope observation domain (149); samplingPacketInterval
# 305 and samplingPacketSpace 306.
opt = ipfix_set(3, struct.pack(">HHH", 258, 3, 1) + ie(149, 4) + ie(305, 4) + ie(306, 4))
write("fuzz_ipfix", "options-sampling", ipfix([opt, ipfix_set(258, struct.pack(">III", 1, 1, 99))]))
# IE 315 dataLinkFrameSection, variable length (RFC 7011 7), with IE 10 and 61.
t315 = ipfix_set(2, struct.pack(">HH", 259, 3) + ie(10, 4) + ie(61, 1) + ie(315, 0xffff))
frame = eth(v4tcp, 0x0800, vlans=(231,))
d315 = ipfix_set(259, struct.pack(">IBB", 582, 0, len(frame)) + frame +
                 struct.pack(">IBBH", 582, 1, 255, len(frame)) + frame)
write("fuzz_ipfix", "ie315-frame", ipfix([t315, d315]))
# RFC 5103 biflow: reverse octets/packets (PEN 29305), and a Juniper element
# (PEN 2636, 137) of variable length.
tbi = ipfix_set(2, struct.pack(">HH", 260, 8) + ie(8, 4) + ie(12, 4) + ie(4, 1) + ie(1, 8) +
                ie(2, 8) + ie(1, 8, 29305) + ie(2, 8, 29305) + ie(137, 0xffff, 2636))
dbi = ipfix_set(260, ip4("10.10.1.4") + ip4("10.10.1.1") + struct.pack(">BQQQQB", 17, 62, 1, 128,
                                                                          1, 2) + b"\x01\x02")
write("fuzz_ipfix", "biflow-enterprise", ipfix([tbi, dbi], domain=7))

# ---- sFlow v5 ----
def xdr_opaque(b):
    return struct.pack(">I", len(b)) + pad4(b)


def record(fmt, body):
    return struct.pack(">II", fmt, len(body)) + body


def sflow(samples, agent="172.16.0.3"):
    return struct.pack(">II", 5, 1) + ip4(agent) + struct.pack(">IIII", 0, 1, 3600000,
                                                                 len(samples)) + b"".join(samples)


def sampled_header(frame, proto=1):
    return record(1, struct.pack(">III", proto, len(frame) + 4, 0) + xdr_opaque(frame))


sw = record(1001, struct.pack(">IIII", 100, 0, 100, 0))
router = record(1002, struct.pack(">I", 1) + ip4("45.90.161.46") + struct.pack(">II", 20, 27))
gateway = record(1003, struct.pack(">I", 1) + ip4("31.14.69.110") + struct.pack(
    ">IIII", 39421, 39421, 26615, 1) + struct.pack(">II", 2, 3) +
    struct.pack(">III", 203698, 6762, 26615) + struct.pack(">I", 2) +
    struct.pack(">II", 2583495656, 2583495657) + struct.pack(">I", 0))
recs = [sampled_header(eth(v4tcp, 0x0800)), sw, router, gateway]
flow_sample = record(1, struct.pack(">IIIIIIII", 1, 27, 1024, 100, 0, 27, 28, len(recs)) +
                     b"".join(recs))
recs6 = [sampled_header(eth(v6tcp, 0x86dd, vlans=(100,)))]
flow_sample6 = record(1, struct.pack(">IIIIIIII", 2, 27, 1024, 200, 0, 27, 0x3fffffff,
                                     len(recs6)) + b"".join(recs6))
# Expanded flow sample (format 3): separate ifIndex format/value words; an
# IPv4 record (3) instead of a header.
ipv4rec = record(3, struct.pack(">II", 104, 6) + ip4("52.52.52.52") + ip4("53.53.53.53") +
                 struct.pack(">IIII", 22, 52237, 0x18, 8))
exp_sample = record(3, struct.pack(">IIIIIIIIIII", 3, 0, 5, 1000, 500, 0, 0, 29001, 0,
                                   0x4a5b, 1) + ipv4rec)
# Counter sample (format 2): generic interface counters (record 1), truncated body.
counter = record(2, struct.pack(">III", 4, 27, 1) + record(1, b"\0" * 88))
write("fuzz_sflow", "flow-samples", sflow([flow_sample, flow_sample6]))
write("fuzz_sflow", "expanded-and-counter", sflow([exp_sample, counter], agent="49.49.49.49"))
raw_ip = [sampled_header(v4udp, proto=11)]
write("fuzz_sflow", "raw-ipv4-header",
      sflow([record(1, struct.pack(">IIIIIIII", 3, 5, 512, 1, 0, 5, 6, 1) + b"".join(raw_ip))]))
# Discarded packet: output interface format 1 (RFC-less: sFlow v5 5.8, 0x40000000 | reason).
write("fuzz_sflow", "discard", sflow([record(1, struct.pack(">IIIIIIII", 4, 27, 1024, 100, 0,
                                                            27, 0x40000000 | 3, 1) +
                                             sampled_header(eth(v4udp, 0x0800)))]))
# sFlow with an IPv6 agent.
write("fuzz_sflow", "ipv6-agent",
      struct.pack(">II", 5, 2) + b"\x20\x01\x0d\xb8" + b"\0" * 11 + b"\x09" +
      struct.pack(">IIII", 0, 1, 3600000, 1) + flow_sample)
