"""A minimal reader of gzip'd pprof profile.proto files, for asserting exact values in
tests without trusting our own encoder's view of them."""

import gzip


def _varint(buf, i):
    v = shift = 0
    while True:
        b = buf[i]
        i += 1
        v |= (b & 0x7F) << shift
        if b < 0x80:
            return v, i
        shift += 7


def _fields(buf):
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = _varint(buf, i)
        elif wt == 2:
            n, i = _varint(buf, i)
            v = buf[i:i + n]
            i += n
        elif wt == 1:
            v = int.from_bytes(buf[i:i + 8], "little")
            i += 8
        elif wt == 5:
            v = int.from_bytes(buf[i:i + 4], "little")
            i += 4
        else:
            raise ValueError("bad wire type %d" % wt)
        yield num, wt, v


def _ints(wt, v):
    """A repeated integer field, packed or not."""
    if wt == 0:
        return [v]
    out, i = [], 0
    while i < len(v):
        x, i = _varint(v, i)
        out.append(x)
    return out


def _signed(x):
    return x - (1 << 64) if x >= 1 << 63 else x


class Profile:
    def __init__(self, data):
        if data[:2] != b"\x1f\x8b":
            raise ValueError("not gzip")
        raw = gzip.decompress(data)
        self.strings, st, sm, ml, fn = [], [], [], [], []
        self.comments, self.period_type, self.period = [], None, 0
        self.default_sample_type, self.time_nanos = 0, 0
        for num, wt, v in _fields(raw):
            if num == 1:
                st.append(v)
            elif num == 2:
                sm.append(v)
            elif num == 3:
                ml.append(v)
            elif num == 4:
                self.__dict__.setdefault("_locs", []).append(v)
            elif num == 5:
                fn.append(v)
            elif num == 6:
                self.strings.append(v.decode())
            elif num == 9:
                self.time_nanos = v
            elif num == 11:
                self.period_type = v
            elif num == 12:
                self.period = _signed(v)
            elif num == 13:
                self.comments.extend(_ints(wt, v))
            elif num == 14:
                self.default_sample_type = v
        s = self.strings
        self.sample_types = [self._vt(x) for x in st]
        if self.period_type is not None:
            self.period_type = self._vt(self.period_type)
        self.default_sample_type = s[self.default_sample_type]
        self.comments = [s[c] for c in self.comments]
        self.functions = {}
        for f in fn:
            d = {k: v for k, _, v in _fields(f)}
            self.functions[d.get(1, 0)] = {"name": s[d.get(2, 0)], "system_name": s[d.get(3, 0)],
                                           "filename": s[d.get(4, 0)], "start_line": d.get(5, 0)}
        self.mappings = {}
        for m in ml:
            d = {k: v for k, _, v in _fields(m)}
            self.mappings[d.get(1, 0)] = {"start": d.get(2, 0), "limit": d.get(3, 0),
                                          "offset": d.get(4, 0), "filename": s[d.get(5, 0)],
                                          "build_id": s[d.get(6, 0)]}
        self.locations = {}
        for loc in self.__dict__.pop("_locs", []):
            d, lines = {}, []
            for k, _, v in _fields(loc):
                if k == 4:
                    ld = {a: b for a, _, b in _fields(v)}
                    lines.append((self.functions[ld.get(1, 0)], _signed(ld.get(2, 0))))
                else:
                    d[k] = v
            self.locations[d.get(1, 0)] = {"mapping": d.get(2, 0), "address": d.get(3, 0),
                                           "lines": lines}
        self.samples = []
        for smp in sm:
            locs, vals, labels = [], [], {}
            for k, wt, v in _fields(smp):
                if k == 1:
                    locs.extend(_ints(wt, v))
                elif k == 2:
                    vals.extend(_signed(x) for x in _ints(wt, v))
                elif k == 3:
                    ld = {a: b for a, _, b in _fields(v)}
                    key = s[ld.get(1, 0)]
                    labels[key] = s[ld[2]] if ld.get(2) else _signed(ld.get(3, 0))
            self.samples.append({"locations": [self.locations[x] for x in locs],
                                 "values": vals, "labels": labels})

    def _vt(self, b):
        d = {k: v for k, _, v in _fields(b)}
        return (self.strings[d.get(1, 0)], self.strings[d.get(2, 0)])

    def index(self, sample_type):
        return [t for t, _ in self.sample_types].index(sample_type)

    @staticmethod
    def frames(sample):
        """Function names of a sample, innermost first, inline frames included."""
        return [ln[0]["name"] for loc in sample["locations"] for ln in loc["lines"]]

    def by_top_function(self, sample_type):
        """Sum of sample_type per innermost function name."""
        i, out = self.index(sample_type), {}
        for smp in self.samples:
            names = self.frames(smp)
            top = names[0] if names else "??"
            out[top] = out.get(top, 0) + smp["values"][i]
        return out

    def by_function(self, sample_type, name):
        """Sum of sample_type over samples whose stack contains function name."""
        i = self.index(sample_type)
        return sum(s["values"][i] for s in self.samples if name in self.frames(s))


def load(path):
    with open(path, "rb") as f:
        return Profile(f.read())
