"""User-facing text: a mapping of language -> string, and the catalog of the engine's own texts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Texts = Mapping[str, str]

# Every key the engine says something with; `flows check` fails when common.yaml lacks one.
ENGINE_TEXTS = (
    "greeting",
    "choose_category",
    "idle_hint",
    "progress",
    "back",
    "skip",
    "keep",
    "done",
    "other",
    "other_ask",
    "current_answer",
    "choose_from_buttons",
    "text_expected",
    "multi_none_selected",
    "files_received",
    "files_need_more",
    "files_too_many",
    "files_text_instead",
    "file_too_big",
    "file_bad_type",
    "file_mismatch",
    "file_duplicate",
    "unsupported_media",
    "too_long",
    "too_short",
    "summary_title",
    "summary_confirm",
    "summary_edit",
    "file_case",
    "cancel",
    "filed",
    "view_case",
    "new_case",
    "continue",
    "start_over",
    "resume_prompt",
    "cancelled",
    "nothing_to_cancel",
    "button_expired",
    "unknown_command",
    "help",
    "language_set",
    "language_usage",
    "cases_none",
    "cases_title",
    "case_usage",
    "case_not_found",
    "case_view",
    "timeline_title",
    "answer_skipped",
    "evidence_count",
    "internal_error",
    "event_started",
    "event_filed",
    "event_evidence",
    "event_edited",
    "state_filed",
    # after filing: channels, deadlines and follow-ups
    "next_channel",
    "channel_phones",
    "channel_site",
    "channel_how",
    "channel_include",
    "channel_basis",
    "channel_unconfirmed",
    "deadline_binding",
    "deadline_checkin",
    "span_days",
    "span_working_days",
    "date_short",
    "no_channel",
    "respondent_unknown",
    "check_send",
    "check_usage",
    "check_unavailable",
    "check_nothing",
    "check_screenshot",
    "check_no_ocr",
    "check_image_too_big",
    "check_no_text",
    "check_read_text",
    "check_correct_hint",
    "check_batch",
    "check_left_out",
    "check_advice",
    "check_file",
    "check_fine",
    "check_another",
    "check_ok",
    "check_in_intake",
    "check_hidden_sender",
    "check_prefilled",
    "followup_question",
    "checkin_question",
    "snooze_question",
    "replied_question",
    "fu_resolved",
    "fu_unsatisfied",
    "fu_no_answer",
    "fu_snooze",
    "fu_close",
    "fu_sent",
    "fu_replied",
    "snooze_ask",
    "snooze_days",
    "snoozed",
    "sent_recorded",
    "resolved_done",
    "rated",
    "rated_busy",
    "comment_saved",
    "escalated",
    "ladder_end",
    "closed_done",
    "case_moved_on",
    "case_position",
    "case_due",
    "case_rating",
    # the command menu messengers show
    "cmd_new",
    "cmd_cases",
    "cmd_case",
    "cmd_cancel",
    "cmd_check",
    "cmd_lang",
    "cmd_help",
    # forget me, and conversations on a flow version no longer deployed
    "cmd_forget",
    "forget_confirm",
    "forget_yes",
    "forget_no",
    "forgotten",
    "forget_kept",
    "forget_nothing",
    "flow_retired",
)


def pick(texts: Texts, language: str) -> str:
    """Return the text in `language`, or in any language the mapping has."""
    if language in texts:
        return texts[language]
    return next(iter(texts.values()), "")


class Catalog:
    """The engine's own texts, looked up by key and language, with named placeholders."""

    def __init__(self, texts: Mapping[str, Texts], languages: tuple[str, ...]) -> None:
        self._texts = texts
        self.languages = languages

    def has(self, key: str) -> bool:
        """Return True when the catalog has a text under `key`."""
        return key in self._texts

    def __call__(self, key: str, language: str, /, **values: Any) -> str:
        template = pick(self._texts[key], language)
        return template.format(**values) if values else template
