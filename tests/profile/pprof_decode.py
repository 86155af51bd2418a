"""A minimal decoder of gzip-compressed pprof files, independent of the encoder under
test: protobuf varints and length-delimited fields, decoded by hand."""

import gzip

VARINT, I64, LEN, I32 = 0, 1, 2, 5


def varint(buf, pos):
    result = shift = 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")


def fields(buf):
    """Yields (field number, wire type, value) for each field of a message."""
    pos = 0
    while pos < len(buf):
        key, pos = varint(buf, pos)
        num, wt = key >> 3, key & 7
        if wt == VARINT:
            val, pos = varint(buf, pos)
        elif wt == LEN:
            n, pos = varint(buf, pos)
            val = bytes(buf[pos:pos + n])
            if len(val) != n:
                raise ValueError("truncated field %d" % num)
            pos += n
        elif wt == I64:
            val, pos = buf[pos:pos + 8], pos + 8
        elif wt == I32:
            val, pos = buf[pos:pos + 4], pos + 4
        else:
            raise ValueError("bad wire type %d" % wt)
        yield num, wt, val


def signed(v):
    return v - (1 << 64) if v >= 1 << 63 else v


def ints(wt, val):
    """A repeated integer field's values, whether packed (LEN) or not."""
    if wt == VARINT:
        return [val]
    if wt != LEN:
        raise ValueError("integer field with wire type %d" % wt)
    out, pos = [], 0
    while pos < len(val):
        v, pos = varint(val, pos)
        out.append(v)
    return out


def message(buf, scalars=None, repeated=None, submessages=None):
    """Decodes into a dict: scalars default to 0, repeated ints to lists; records
    which repeated fields were packed in '_packed'."""
    scalars, repeated, submessages = scalars or {}, repeated or {}, submessages or {}
    out = {name: 0 for name in scalars.values()}
    out.update({name: [] for name in repeated.values()})
    out.update({name: [] for name, _ in submessages.values()})
    out["_packed"] = set()
    for num, wt, val in fields(buf):
        if num in submessages:
            name, decode = submessages[num]
            out[name].append(decode(val))
        elif num in repeated:
            if wt == LEN:
                out["_packed"].add(repeated[num])
            out[repeated[num]].extend(ints(wt, val))
        elif num in scalars:
            out[scalars[num]] = val
    return out


def value_type(b):
    return message(b, {1: "type", 2: "unit"})


def label(b):
    return message(b, {1: "key", 2: "str", 3: "num", 4: "num_unit"})


def sample(b):
    m = message(b, repeated={1: "location_id", 2: "value"}, submessages={3: ("label", label)})
    m["value"] = [signed(v) for v in m["value"]]
    for lab in m["label"]:
        lab["num"] = signed(lab["num"])
    return m


def mapping(b):
    return message(b, {1: "id", 2: "memory_start", 3: "memory_limit", 4: "file_offset",
                       5: "filename", 6: "build_id", 7: "has_functions", 8: "has_filenames",
                       9: "has_line_numbers", 10: "has_inline_frames"})


def line(b):
    return message(b, {1: "function_id", 2: "line"})


def location(b):
    return message(b, {1: "id", 2: "mapping_id", 3: "address", 5: "is_folded"},
                   submessages={4: ("line", line)})


def function(b):
    return message(b, {1: "id", 2: "name", 3: "system_name", 4: "filename", 5: "start_line"})


def profile(raw):
    """Decodes an uncompressed Profile message."""
    strings = []
    p = message(raw, {7: "drop_frames", 8: "keep_frames", 9: "time_nanos",
                      10: "duration_nanos", 12: "period", 14: "default_sample_type"},
                repeated={13: "comment"},
                submessages={1: ("sample_type", value_type), 2: ("sample", sample),
                             3: ("mapping", mapping), 4: ("location", location),
                             5: ("function", function), 11: ("period_type", value_type)})
    for num, wt, val in fields(raw):
        if num == 6:
            if wt != LEN:
                raise ValueError("string_table entry with wire type %d" % wt)
            strings.append(val.decode())
    p["string_table"] = strings
    p["period_type"] = p["period_type"][0] if p["period_type"] else None
    return p


def read(path):
    """Returns (gzip bytes, decoded profile) of a pprof file."""
    with open(path, "rb") as f:
        data = f.read()
    return data, profile(gzip.decompress(data))
