"""The visible stamp: its style and font, prepared once per process, and the font subsets
reused from one signature to the next (a signer's stamps differ only in the time)."""

from __future__ import annotations

import contextlib
import functools
import unicodedata
import zlib
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path
from typing import Any

from pyhanko.pdf_utils import layout
from pyhanko.pdf_utils.font import FontEngine, FontEngineFactory
from pyhanko.pdf_utils.text import TextBoxStyle
from pyhanko.pdf_utils.writer import BasePdfFileWriter
from pyhanko.stamp import TextStampStyle

from hbs_signing.token.errors import TokenError
from hbs_signing.token.profile import SIGNATURE_PROFILE

STAMP_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def nfc(text: str) -> str:
    # Precomposed letters only: the stamp font keeps no mark-positioning tables.
    return unicodedata.normalize("NFC", text)


def visible_stamp_supported() -> bool:
    """Whether pyHanko's opentype extra is installed; without it signatures are invisible."""
    try:
        import pyhanko.pdf_utils.font.opentype  # noqa: F401
    except ImportError:
        return False
    return True


@functools.cache
def stamp_style() -> TextStampStyle | None:
    if not visible_stamp_supported():
        return None
    if not Path(STAMP_FONT).is_file():
        raise TokenError(f"the stamp font {STAMP_FONT} is missing (Debian fonts-dejavu-core)")
    font = _ScaledFontFactory(_stamp_font_program(STAMP_FONT), SIGNATURE_PROFILE.stamp_font_size)
    return TextStampStyle(
        stamp_text=SIGNATURE_PROFILE.stamp_text,
        timestamp_format=SIGNATURE_PROFILE.stamp_timestamp_format,
        border_width=1,
        text_box_style=TextBoxStyle(
            font=font,
            font_size=SIGNATURE_PROFILE.stamp_font_size,
            leading=round(SIGNATURE_PROFILE.stamp_font_size * 1.3),
            box_layout_rule=layout.SimpleBoxLayoutRule(
                x_align=layout.AxisAlignment.ALIGN_MIN,
                y_align=layout.AxisAlignment.ALIGN_MID,
                margins=layout.Margins(left=4, right=4, top=4, bottom=4),
            ),
        ),
    )


class _ScaledFontFactory(FontEngineFactory):
    """pyHanko's GlyphAccumulatorFactory, but from font bytes prepared once per process."""

    def __init__(self, program: bytes, font_size: int) -> None:
        self._program = program
        self._font_size = font_size

    def create_font_engine(self, writer: BasePdfFileWriter, obj_stream: Any = None) -> FontEngine:
        engine: FontEngine = _accumulator_class()(
            writer, BytesIO(self._program), self._font_size, obj_stream=obj_stream
        )
        return engine


# The stamp's font file, compressed, by the set of glyphs it holds: a signer's stamps differ only
# in the time, so after the first signature every stamp reuses a prepared subset (~25 ms saved).
_subset_files: dict[frozenset[int], bytes] = {}
_SUBSET_CACHE_SIZE = 64
# Always in the subset, so the changing time on the stamp does not change the glyph set.
_TIME_CHARACTERS = "0123456789/:. +-UTCICT"


def _reused_subset_accumulator_class() -> type[FontEngine]:
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.font.opentype import CIDFontType2, GlyphAccumulator

    class PreparedFontFile(CIDFontType2):
        """A CIDFontType2 whose font file is a subset prepared by an earlier signature."""

        compressed_program: bytes = b""

        def set_font_file(self, writer: BasePdfFileWriter) -> generic.IndirectObject:
            stream = generic.StreamObject(
                {generic.pdf_name("/Filter"): generic.pdf_name("/FlateDecode")},
                encoded_data=self.compressed_program,
            )
            reference: generic.IndirectObject = writer.add_object(stream)
            self._font_descriptor[generic.pdf_name("/FontFile2")] = reference
            return reference

    class ReusedSubsetAccumulator(GlyphAccumulator):
        def __init__(
            self, writer: BasePdfFileWriter, font_handle: BytesIO, *args: Any, **kwargs: Any
        ) -> None:
            self._program = font_handle.getvalue()
            # The parsed font is shared by every stamp of the process (read only until a subset
            # is cut, which gets its own copy below): parsing it cost ~10 ms per signature.
            with _shared_font(self._program):
                super().__init__(writer, font_handle, *args, **kwargs)
            self.shape(_TIME_CHARACTERS, with_actual_text=False)

        def _extract_subset(self, options: Any = None) -> None:
            key = frozenset(self._glyphs)
            program = _subset_files.get(key)
            if program is None:
                from fontTools.ttLib import TTFont  # type: ignore[import-untyped, unused-ignore]

                self.tt = TTFont(BytesIO(self._program))  # subsetting rewrites the font in place
                super()._extract_subset(options)
                out = BytesIO()
                self.tt.save(out)
                program = zlib.compress(out.getvalue())
                if len(_subset_files) >= _SUBSET_CACHE_SIZE:
                    _subset_files.clear()
                _subset_files[key] = program
            original = self.cidfont_obj
            prepared = PreparedFontFile(self.tt, original.name.split("+", 1)[1], self.subset_prefix)
            # The metrics pyHanko read from the whole font before subsetting, as it would embed.
            prepared._font_descriptor = original._font_descriptor
            prepared.compressed_program = program
            self.cidfont_obj = prepared

    return ReusedSubsetAccumulator


_parsed: dict[bytes, tuple[Any, Any, Any]] = {}


@contextlib.contextmanager
def _shared_font(program: bytes) -> Iterator[None]:
    """pyHanko's GlyphAccumulator parses the font (fontTools and HarfBuzz) in its constructor;
    while it runs, hand it this process's parsed copy instead."""
    import uharfbuzz  # type: ignore[import-untyped, unused-ignore]
    from fontTools.ttLib import TTFont  # type: ignore[import-untyped, unused-ignore]
    from pyhanko.pdf_utils.font import opentype

    parsed = _parsed.get(program)
    if parsed is None:
        face = uharfbuzz.Face(program)
        parsed = (face, uharfbuzz.Font(face), TTFont(BytesIO(program)))
        _parsed.clear()
        _parsed[program] = parsed
    face, font, tt = parsed

    class HarfBuzz:
        def __getattr__(self, name: str) -> Any:
            return getattr(uharfbuzz, name)

        @staticmethod
        def Face(_data: bytes) -> Any:  # noqa: N802 (HarfBuzz's name)
            return face

        @staticmethod
        def Font(_face: Any) -> Any:  # noqa: N802
            return font

    class FontTools:
        def __getattr__(self, name: str) -> Any:
            from fontTools import ttLib  # type: ignore[import-untyped, unused-ignore]

            return getattr(ttLib, name)

        @staticmethod
        def TTFont(_handle: Any) -> Any:  # noqa: N802
            return tt

    module: Any = opentype
    saved = module.hb, module.ttLib
    module.hb, module.ttLib = HarfBuzz(), FontTools()
    try:
        yield
    finally:
        module.hb, module.ttLib = saved


@functools.cache
def _accumulator_class() -> Any:
    return _reused_subset_accumulator_class()


def _stamp_font_program(path: str) -> bytes:
    """The TTF cut to Latin + Vietnamese, without layout tables, at 1000 units per em.

    pyHanko writes glyph widths in font units, but PDF widths are per 1000 em: DejaVu's 2048
    units per em would space the stamp's letters twice too wide. pyHanko subsets the font again
    for every signature; DejaVu's kerning tables alone would make that cost about 70 ms, and
    NFC Vietnamese needs no shaping because every letter has a precomposed glyph.
    """
    from fontTools import subset  # type: ignore[import-untyped, unused-ignore]
    from fontTools.ttLib import TTFont  # type: ignore[import-untyped, unused-ignore]
    from fontTools.ttLib.scaleUpem import scale_upem  # type: ignore[import-untyped, unused-ignore]

    font = TTFont(path)
    options = subset.Options()
    options.layout_features = []
    options.drop_tables += ["GSUB", "GPOS", "GDEF", "kern", "MATH", "FFTM"]
    options.hinting = False
    options.notdef_outline = True
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=_STAMP_CHARACTERS)
    subsetter.subset(font)
    scale_upem(font, 1000)
    out = BytesIO()
    font.save(out)
    return out.getvalue()


_STAMP_CHARACTERS = [
    *range(0x20, 0x7F),  # ASCII
    *range(0xA0, 0x100),  # Latin-1: Â Ê Ô, the acute/grave/tilde vowels
    *(ord(c) for c in "ĂăĐđĨĩŨũƠơƯư"),
    *range(0x1EA0, 0x1EFA),  # Latin Extended Additional: the rest of Vietnamese
    *range(0x2010, 0x2027),  # dashes, quotes, ellipsis
    0x20AB,  # ₫
]
