"""Chat templates: a transformers-identical sandbox, loading with positions, rendering with
per-part pad attribution, and template capability probing. jinja2 only; no torch/transformers.

Public API (everything else in the package is private):

* :func:`load_template`, :func:`load_model_dir`, :func:`template_from_string`, :func:`syntax_error`
  -> :class:`LoadedTemplate`, :class:`ModelTemplates`, :class:`TemplateFinding`
* :func:`bundled_template` -> :class:`BundledTemplate`
* :func:`render` -> :class:`RenderResult` (:class:`PartPads`, :class:`StrayPad`,
  :class:`LiteralToken`, :class:`RenderError`); :func:`render_text` for the bare text
* :func:`probe` -> :class:`Capabilities`; :func:`format_capabilities`; :func:`content_format`
* :class:`FamilyTokens`, :func:`tokens_for_family`; :class:`Limits`
* errors: :class:`TemplateError` and subclasses
"""

from qwenlint.template.bundled import BundledTemplate, bundled_template
from qwenlint.template.errors import (
    TemplateError,
    TemplateLimitError,
    TemplateLoadError,
    TemplateRenderError,
    TemplateSecurityError,
    TemplateSyntaxIssue,
)
from qwenlint.template.load import (
    LoadedTemplate,
    ModelTemplates,
    TemplateFinding,
    load_model_dir,
    load_template,
    syntax_error,
    template_from_string,
)
from qwenlint.template.probe import (
    Capabilities,
    ContentFormat,
    PartFormProbe,
    content_format,
    format_capabilities,
    probe,
)
from qwenlint.template.render import (
    LiteralToken,
    PartPads,
    RenderError,
    RenderResult,
    StrayPad,
    render,
    render_text,
)
from qwenlint.template.sandbox import Limits
from qwenlint.template.tokens import FamilyTokens, tokens_for_family

__all__ = [
    "BundledTemplate",
    "Capabilities",
    "ContentFormat",
    "FamilyTokens",
    "Limits",
    "LiteralToken",
    "LoadedTemplate",
    "ModelTemplates",
    "PartFormProbe",
    "PartPads",
    "RenderError",
    "RenderResult",
    "StrayPad",
    "TemplateError",
    "TemplateFinding",
    "TemplateLimitError",
    "TemplateLoadError",
    "TemplateRenderError",
    "TemplateSecurityError",
    "TemplateSyntaxIssue",
    "bundled_template",
    "content_format",
    "format_capabilities",
    "load_model_dir",
    "load_template",
    "probe",
    "render",
    "render_text",
    "syntax_error",
    "template_from_string",
    "tokens_for_family",
]
