"""The picture size (after its cropping window) and VUI frame rate an H.264 SPS declares.

FFmpeg's H.264 decoder sets the stream's width and height from the SPS (`libavcodec/h264_ps.c`,
`ff_h264_decode_seq_parameter_set`: macroblock counts minus the frame-cropping offsets), and that
is what torchcodec reports.  The MP4 fast path (`_movscan.py`) reads it here and only trusts it
when it equals the size the container's sample entry declares, so an unusual SPS that this small
reader gets wrong can only make the fast path step aside, never change a result.

Pure Python, bounded by the SPS length (a few dozen bytes).  Written here rather than taken from a
library: the only Python H.264 parsers are either part of a decoder binding (PyAV, which is what
the fast path avoids opening) or unmaintained bitstream toolkits far larger than this reader.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

# profile_idc values whose SPS carries chroma_format_idc, bit depths and scaling matrices (H.264 7.3.2.1.1).
_HIGH_PROFILES = frozenset({100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135})


class _Bits:
    """An MSB-first bit reader over an RBSP (held as one integer); reading past the end raises IndexError."""

    __slots__ = ("value", "size", "pos")

    def __init__(self, data: bytes) -> None:
        self.value = int.from_bytes(data, "big")
        self.size = 8 * len(data)
        self.pos = 0

    def u(self, n: int) -> int:
        end = self.pos + n
        if end > self.size:
            raise IndexError("read past the end of the SPS")
        self.pos = end
        return (self.value >> (self.size - end)) & ((1 << n) - 1)

    def ue(self) -> int:
        rest = self.value & ((1 << (self.size - self.pos)) - 1)  # the bits not read yet
        if rest == 0:
            raise IndexError("read past the end of the SPS")
        zeros = self.size - self.pos - rest.bit_length()
        if zeros > 31:
            raise ValueError("exp-Golomb code too long")
        self.pos += zeros + 1
        return (1 << zeros) - 1 + self.u(zeros)

    def se(self) -> int:
        k = self.ue()
        return (k + 1) // 2 if k & 1 else -(k // 2)

    def rest_is_zero(self) -> bool:
        return self.value & ((1 << (self.size - self.pos)) - 1) == 0


def unescape(nal: bytes) -> bytes:
    """Remove emulation-prevention bytes (00 00 03 -> 00 00)."""
    if b"\x00\x00\x03" not in nal:
        return nal
    out = bytearray()
    zeros = 0
    for b in nal:
        if zeros >= 2 and b == 3:
            zeros = 0
            continue
        out.append(b)
        zeros = zeros + 1 if b == 0 else 0
    return bytes(out)


def _skip_scaling_list(r: _Bits, size: int) -> None:
    last = nxt = 8
    for _ in range(size):
        if nxt != 0:
            nxt = (last + r.se() + 256) % 256
        last = nxt if nxt != 0 else last


@dataclass(frozen=True)
class Sps:
    """What the fast path needs from an SPS."""

    width: int  # after the cropping window
    height: int
    frames_only: bool  # frame_mbs_only_flag: no field pictures
    frame_rate: Fraction | None  # VUI time_scale / (2 * num_units_in_tick); None when absent
    pic_struct: bool  # VUI pic_struct_present_flag (picture-timing SEI may repeat fields/frames)


def parse_sps(nal: bytes) -> Sps | None:
    """Read an SPS NAL unit (with its one-byte header) completely, or return None.

    Strict on purpose: None for anything FFmpeg might reject or read differently (out-of-range
    values, a VUI that does not end exactly at the RBSP trailing bits, a left crop, which FFmpeg
    may shrink to keep alignment), so the fast path steps aside instead of guessing.
    """
    if len(nal) < 4 or nal[0] & 0x1F != 7:
        return None
    try:
        r = _Bits(unescape(nal[1:]))
        profile = r.u(8)
        r.u(16)  # constraint flags, level_idc
        if r.ue() > 31:  # seq_parameter_set_id
            return None
        chroma_format, separate_planes = 1, 0
        if profile in _HIGH_PROFILES:
            chroma_format = r.ue()
            if chroma_format > 3:
                return None
            if chroma_format == 3:
                separate_planes = r.u(1)
            luma, chroma = r.ue(), r.ue()
            if luma != chroma or luma > 6:
                return None
            r.u(1)  # qpprime_y_zero_transform_bypass_flag
            if r.u(1):  # seq_scaling_matrix_present_flag
                for i in range(12 if chroma_format == 3 else 8):
                    if r.u(1):
                        _skip_scaling_list(r, 16 if i < 6 else 64)
        if r.ue() > 12:  # log2_max_frame_num_minus4
            return None
        poc_type = r.ue()
        if poc_type == 0:
            if r.ue() > 12:
                return None
        elif poc_type == 1:
            r.u(1)
            r.se()
            r.se()
            cycle = r.ue()
            if cycle > 255:
                return None
            for _ in range(cycle):
                r.se()
        elif poc_type != 2:
            return None
        if r.ue() > 16:  # max_num_ref_frames
            return None
        r.u(1)  # gaps_in_frame_num_value_allowed_flag
        width = (r.ue() + 1) * 16
        map_units = r.ue() + 1
        frame_mbs_only = r.u(1)
        if not frame_mbs_only:
            r.u(1)  # mb_adaptive_frame_field_flag
        height = map_units * 16 * (2 - frame_mbs_only)
        if width > 16384 or height > 16384:
            return None
        r.u(1)  # direct_8x8_inference_flag
        if r.u(1):  # frame_cropping_flag
            left, right, top, bottom = r.ue(), r.ue(), r.ue(), r.ue()
            if left:
                return None
            chroma_array_type = 0 if separate_planes else chroma_format
            step_x = 1 if chroma_array_type in (0, 3) else 2
            step_y = (2 - frame_mbs_only) * (2 if chroma_array_type == 1 else 1)
            crop_w, crop_h = (left + right) * step_x, (top + bottom) * step_y
            if crop_w >= width or crop_h >= height:
                return None  # FFmpeg rejects these crop values
            width, height = width - crop_w, height - crop_h
        frame_rate, pic_struct = _vui(r) if r.u(1) else (None, False)
        if not _at_trailing_bits(r):
            return None
        return Sps(width, height, bool(frame_mbs_only), frame_rate, pic_struct)
    except (IndexError, ValueError):
        return None


def _hrd(r: _Bits) -> None:
    count = r.ue() + 1  # cpb_cnt_minus1
    if count > 32:
        raise ValueError("cpb_cnt")
    r.u(8)
    for _ in range(count):
        r.ue()
        r.ue()
        r.u(1)
    r.u(20)


def _vui(r: _Bits) -> tuple[Fraction | None, bool]:
    """VUI parameters (H.264 E.1.1): the frame rate FFmpeg derives and pic_struct_present_flag."""
    if r.u(1):  # aspect_ratio_info_present_flag
        if r.u(8) == 255:
            r.u(32)
    if r.u(1):  # overscan_info_present_flag
        r.u(1)
    if r.u(1):  # video_signal_type_present_flag
        r.u(4)
        if r.u(1):
            r.u(24)
    if r.u(1):  # chroma_loc_info_present_flag
        r.ue()
        r.ue()
    rate = None
    if r.u(1):  # timing_info_present_flag
        tick, scale = r.u(32), r.u(32)
        r.u(1)  # fixed_frame_rate_flag
        rate = Fraction(scale, 2 * tick) if tick and scale else None  # FFmpeg ignores a zero tick or scale
    nal_hrd = r.u(1)
    if nal_hrd:
        _hrd(r)
    vcl_hrd = r.u(1)
    if vcl_hrd:
        _hrd(r)
    if nal_hrd or vcl_hrd:
        r.u(1)  # low_delay_hrd_flag
    pic_struct = bool(r.u(1))
    if r.u(1):  # bitstream_restriction_flag
        r.u(1)
        for _ in range(4):
            r.ue()
        if r.ue() > 16 or r.ue() > 16:  # max_num_reorder_frames, max_dec_frame_buffering
            raise ValueError("reorder depth")
    return rate, pic_struct


def _at_trailing_bits(r: _Bits) -> bool:
    """The RBSP ends here: a 1 bit, then zero bits to the end (trailing zero bytes allowed)."""
    return r.u(1) == 1 and r.rest_is_zero()


def avcc_sps(avcc: bytes) -> bytes | None:
    """The single SPS NAL unit of an `avcC` box payload (AVCDecoderConfigurationRecord), or None
    when there is not exactly one."""
    if len(avcc) < 8 or avcc[0] != 1:
        return None
    if avcc[5] & 0x1F != 1:
        return None
    n = int.from_bytes(avcc[6:8], "big")
    nal = avcc[8:8 + n]
    return nal if len(nal) == n else None
