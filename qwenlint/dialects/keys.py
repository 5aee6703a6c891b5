"""Known part types and keys, their translations, and "did you mean" suggestions.

The consumers only read English keys.  A part written with translated keys (the real report:
``{"type": "视频", "视频": "file:///a.mp4", "最大像素": 50176}``) matches none of their checks and is
dropped without a word.  This module maps such keys back to English so the diagnostic can show the
part as it should have been written.
"""

from __future__ import annotations

import difflib
import unicodedata

#: Part types every dialect together knows.
PART_TYPES = (
    "text", "image", "video", "audio",  # native (qwen-vl-utils / transformers)
    "image_url", "video_url", "audio_url", "input_audio",  # OpenAI / vLLM
    "image_embeds", "image_pil", "input_text", "input_image",  # vLLM / OpenAI Responses extras
)

#: Source keys, per media kind.
SOURCE_KEYS = {
    "image": ("image", "image_url", "url", "path", "base64", "value"),
    "video": ("video", "video_url", "url", "path", "value"),
    "audio": ("audio", "audio_url", "input_audio", "url", "path", "value"),
}

#: Per-part options qwen-vl-utils reads (fetch_image / fetch_video, 0.0.14).
IMAGE_OPTIONS = ("min_pixels", "max_pixels", "resized_height", "resized_width")
VIDEO_OPTIONS = (
    "min_pixels", "max_pixels", "total_pixels", "resized_height", "resized_width",
    "fps", "nframes", "min_frames", "max_frames", "video_start", "video_end",
    "sample_fps", "raw_fps",
)
AUDIO_OPTIONS = ("audio_start", "audio_end", "use_audio_in_video")
#: Keys some producers add that every consumer ignores harmlessly.
HARMLESS_KEYS = ("uuid", "detail", "cache_control", "id", "name")

ALL_PART_KEYS = frozenset(
    ("type", "text")
    + tuple(k for ks in SOURCE_KEYS.values() for k in ks)
    + IMAGE_OPTIONS + VIDEO_OPTIONS + AUDIO_OPTIONS + HARMLESS_KEYS
)

MESSAGE_KEYS = frozenset((
    "role", "content", "name", "tool_calls", "tool_call_id", "reasoning_content", "thinking",
    "function_call", "refusal", "audio", "loss", "weight", "id", "annotations",
))
ROLES = ("system", "user", "assistant", "tool")
#: Roles some producers use that the Qwen templates treat like one of ROLES.
EXTRA_ROLES = ("developer", "function", "observation", "tool_call", "tool_response", "ipython")

# Translations seen in the wild or close to them: Chinese (simplified and traditional), Japanese,
# Korean, Spanish, French, German, Portuguese, Italian, Russian.  Keys are compared after NFKC
# normalisation and lower-casing.
_TRANSLATIONS: dict[str, tuple[str, ...]] = {
    "type": ("类型", "類型", "种类", "タイプ", "種類", "유형", "타입", "tipo", "typ", "тип"),
    "text": ("文本", "文字", "正文", "テキスト", "텍스트", "texto", "texte", "testo", "текст"),
    "image": ("图片", "图像", "圖片", "圖像", "画像", "이미지", "imagen", "imagem", "immagine",
              "bild", "изображение", "картинка"),
    "video": ("视频", "影片", "視頻", "視訊", "動画", "ビデオ", "비디오", "동영상", "vídeo",
              "vidéo", "видео"),
    "audio": ("音频", "音頻", "音声", "オーディオ", "오디오", "áudio", "аудио"),
    "role": ("角色", "ロール", "役割", "역할", "rol", "rôle", "rolle", "ruolo", "papel", "роль"),
    "content": ("内容", "內容", "コンテンツ", "内容物", "내용", "contenido", "contenu", "inhalt",
                "conteúdo", "contenuto", "содержание", "контент"),
    "user": ("用户", "用戶", "ユーザー", "사용자", "usuario", "utilisateur", "benutzer",
             "utente", "usuário", "пользователь"),
    "assistant": ("助手", "アシスタント", "어시스턴트", "asistente", "assistent", "assistente",
                  "ассистент"),
    "system": ("系统", "系統", "システム", "시스템", "sistema", "système", "система"),
    "min_pixels": ("最小像素", "最小ピクセル", "최소픽셀", "최소 픽셀"),
    "max_pixels": ("最大像素", "最大ピクセル", "최대픽셀", "최대 픽셀"),
    "total_pixels": ("总像素", "總像素", "合計ピクセル"),
    "fps": ("帧率", "幀率", "每秒帧数", "フレームレート", "프레임레이트", "프레임 레이트"),
    "nframes": ("帧数", "幀數", "フレーム数", "프레임수", "프레임 수"),
    "max_frames": ("最大帧数", "最大フレーム数"),
    "min_frames": ("最小帧数", "最小フレーム数"),
    "resized_height": ("调整高度", "高度", "高さ", "높이"),
    "resized_width": ("调整宽度", "宽度", "幅", "너비"),
    "video_start": ("开始时间", "起始时间", "開始時間"),
    "video_end": ("结束时间", "終了時間"),
}
TRANSLATED: dict[str, str] = {
    unicodedata.normalize("NFKC", word).casefold(): english
    for english, words in _TRANSLATIONS.items()
    for word in words
}


def translate(word: str) -> str | None:
    """The English key a translated key stands for, or None."""
    if not isinstance(word, str):
        return None
    return TRANSLATED.get(unicodedata.normalize("NFKC", word).strip().casefold())


def did_you_mean(word: str, candidates) -> str | None:
    """The closest candidate for a misspelt key (case and separators ignored), or None."""
    if not isinstance(word, str) or not word:
        return None
    t = translate(word)
    if t is not None and t in candidates:
        return t
    norm = word.strip().lower().replace("-", "_").replace(" ", "_")
    for c in candidates:
        if c.lower() == norm:
            return c
    close = difflib.get_close_matches(norm, list(candidates), n=1, cutoff=0.75)
    return close[0] if close else None


#: The keys that make an object a fine-tuning dataset record rather than a message.
RECORD_KEYS = ("messages", "conversations", "instruction")


def looks_like_record(d: dict) -> bool:
    """Whether an object is a dataset record (``{"messages": [...]}``, ShareGPT, Alpaca), a
    request body, or a line of an OpenAI batch file (``{"custom_id", "body": {request}}``)."""
    return "role" not in d and (any(k in d for k in RECORD_KEYS) or isinstance(d.get("body"), dict))


#: Top-level keys that make an object one qwenlint reads (or a broken one it should report): the
#: record keys, a message's, an OpenAI batch line's, and the dataset columns of LLaMA-Factory and
#: ms-swift (media, prompt / response, preference pairs).
DIALECT_KEYS = frozenset(RECORD_KEYS + (
    "role", "content", "body", "custom_id",
    "images", "videos", "audios", "image", "video", "audio",
    "prompt", "query", "response", "history", "chosen", "rejected", "kto_tag",
    "rejected_response", "rejected_messages",
))


def _message_like(item: object) -> bool:
    return isinstance(item, dict) and ("role" in item or ("from" in item and "value" in item))


def _ours(d: dict) -> bool:
    """An object with a dialect key, a misspelling or translation of a record key (``"mesages"``),
    or a value that is a list of messages (``{"chat": [{"role": ...}]}``)."""
    for k, v in d.items():
        if k in DIALECT_KEYS or translate(k) in ("role", "content"):
            return True
        if did_you_mean(k, RECORD_KEYS) is not None:
            return True
        if isinstance(v, list) and any(_message_like(m) for m in v[:50]):
            return True
    return False


#: Keys of the ``dataset_info.json`` Hugging Face datasets writes beside its Arrow files
#: (``save_to_disk``, its cache): a ``DatasetInfo``, not LLaMA-Factory's registry of datasets.
_HF_INFO_KEYS = frozenset(("citation", "description", "homepage", "license", "builder_name",
                           "dataset_name", "config_name", "splits", "download_checksums",
                           "dataset_size", "size_in_bytes", "version"))


def hf_dataset_info(value: object) -> bool:
    """Whether a ``dataset_info.json`` is Hugging Face datasets' own (a ``features`` mapping
    beside its metadata keys) rather than LLaMA-Factory's (each value an entry object)."""
    return isinstance(value, dict) and isinstance(value.get("features"), dict) and \
        bool(_HF_INFO_KEYS & value.keys())


def foreign(value: object) -> bool:
    """Whether a parsed JSON document is in no dialect qwenlint reads, nor a broken form of one.

    Foreign: a string, number, boolean or null; an object with none of :data:`DIALECT_KEYS`, no
    key close to a record key, and no value that is a list of messages (``trainer_state.json``,
    ``adapter_config.json``, a DeepSpeed config, ``package.json``); a non-empty array none of
    whose first 50 items is an array (a batch), such an object, a message or a part.  A directory
    walk skips foreign files; everything else is checked, so a broken conversation is reported.
    """
    if isinstance(value, dict):
        return not _ours(value)
    if isinstance(value, list):
        if not value:
            return False  # an empty dataset: reported
        for item in value[:50]:
            if isinstance(item, list) or _message_like(item):
                return False
            if isinstance(item, dict) and (_ours(item) or item.get("type") in PART_TYPES):
                return False
        return True
    return True
