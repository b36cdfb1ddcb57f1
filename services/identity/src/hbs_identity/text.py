"""Vietnamese text: NFC on input, a search key without diacritics, and the official ethnic groups."""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")


def nfc(value: str) -> str:
    """NFC, trimmed, inner runs of white space collapsed to one space."""
    return _SPACES.sub(" ", unicodedata.normalize("NFC", value)).strip()


def search_key(value: str) -> str:
    """Lower case, no diacritics (đ → d): "Nguyễn Văn An" → "nguyen van an"."""
    decomposed = unicodedata.normalize("NFD", nfc(value).lower().replace("đ", "d"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _ethnic_key(value: str) -> str:
    return re.sub(r"[\s\-–]+", "", search_key(value))


# Danh mục các dân tộc Việt Nam (Quyết định 121-TCTK/PPCĐ, 1979), in the official order (code 01–54).
ETHNIC_GROUPS: tuple[str, ...] = (
    "Kinh", "Tày", "Thái", "Hoa", "Khơ-me", "Mường", "Nùng", "Hmông", "Dao", "Gia-rai",
    "Ngái", "Ê-đê", "Ba-na", "Xơ-đăng", "Sán Chay", "Cơ-ho", "Chăm", "Sán Dìu", "Hrê", "Mnông",
    "Ra-glai", "Xtiêng", "Bru-Vân Kiều", "Thổ", "Giáy", "Cơ-tu", "Gié-Triêng", "Mạ", "Khơ-mú", "Co",
    "Tà-ôi", "Chơ-ro", "Kháng", "Xinh-mun", "Hà Nhì", "Chu-ru", "Lào", "La Chí", "La Ha", "Phù Lá",
    "La Hủ", "Lự", "Lô Lô", "Chứt", "Mảng", "Pà Thẻn", "Cơ Lao", "Cống", "Bố Y", "Si La",
    "Pu Péo", "Brâu", "Ơ Đu", "Rơ-măm",
)  # fmt: skip
assert len(ETHNIC_GROUPS) == 54

# Other spellings in common use, mapped to the official name.
_ALIASES = {"Khmer": "Khơ-me", "Mông": "Hmông", "H'Mông": "Hmông", "Ê Đê": "Ê-đê", "Jrai": "Gia-rai"}
_BY_KEY: dict[str, str] = {_ethnic_key(name): name for name in ETHNIC_GROUPS}
_BY_KEY.update({_ethnic_key(alias): name for alias, name in _ALIASES.items()})
_BY_KEY.update({f"{i:02d}": name for i, name in enumerate(ETHNIC_GROUPS, start=1)})


def ethnic_group(value: str) -> str | None:
    """The official name for a name, a common spelling or a two-digit code; None if unknown."""
    return _BY_KEY.get(_ethnic_key(value)) or _BY_KEY.get(value.strip().zfill(2))
