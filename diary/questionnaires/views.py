"""Patient pages: which questionnaires are due, answering one, and the scored history."""

from __future__ import annotations

import logging

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from diary.questionnaires import selectors, services
from diary.questionnaires.definitions import Instrument, UnknownInstrument, get_instrument
from diary.questionnaires.forms import QuestionnaireForm
from diary.questionnaires.scoring import format_score
from diary.views import patient_required

logger = logging.getLogger(__name__)

# The language of the instruments' own wording as this project ships it (placeholder or
# paraphrase, in English). A site's licensed wording (QUESTIONNAIRE_TEXT_DIR) is taken to be in
# the language the site offers it for, so it gets no mark.
SHIPPED_WORDING_LANGUAGE = "en"


def questionnaire_lang(*instruments: Instrument) -> str:
    """The lang attribute for the questions ("" when they are in the page's own language).

    Validated questionnaires are never translated here: a translation that has not been
    validated may not measure the same thing. So a patient reading the portal in another
    language sees the questions in the wording the site has, marked with its language, and a
    notice saying why (templates/diary/_questionnaire_language.html)."""
    page = (get_language() or "").split("-")[0]
    if page == SHIPPED_WORDING_LANGUAGE:
        return ""
    if any(instrument.wording != "licensed" for instrument in instruments):
        return SHIPPED_WORDING_LANGUAGE
    return ""


def _instrument_or_404(code: str) -> Instrument:
    try:
        return get_instrument(code)
    except UnknownInstrument:
        raise Http404("No such questionnaire.") from None


@patient_required
def questionnaire_list(request: HttpRequest) -> HttpResponse:
    schedule = selectors.questionnaire_schedule(patient=request.user)
    latest = selectors.latest_rows(patient=request.user)
    return render(
        request,
        "diary/questionnaire_list.html",
        {
            "schedule": [(status, latest.get(status.code)) for status in schedule],
            "questionnaire_lang": questionnaire_lang(*(status.instrument for status in schedule)),
        },
    )


@patient_required
@require_http_methods(["GET", "POST"])
def questionnaire_answer(request: HttpRequest, code: str) -> HttpResponse:
    instrument = _instrument_or_404(code)
    if instrument.wording != "licensed":
        # For operators, not patients (the page says it plainly): the site has not loaded the
        # licensed wording (diary/questionnaires/definitions.py, QUESTIONNAIRE_TEXT_DIR).
        logger.warning(
            "questionnaire %s shown with %s wording; %s", instrument.code, instrument.wording,
            instrument.wording_notice,
        )  # fmt: skip
    form = QuestionnaireForm(instrument, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            response = services.questionnaire_submit(
                patient=request.user, instrument=instrument.code, answers=form.cleaned_data
            )
        except ValidationError as error:
            for field, problems in error.message_dict.items():
                form.add_error(field if field in form.fields else None, problems)
        else:
            messages.success(
                request,
                _("Thank you. Your %(instrument)s score is %(score)s.")
                % {"instrument": instrument.short_name, "score": format_score(response.score)},
            )
            return redirect("diary:questionnaire_detail", response_id=response.id)
    return render(
        request,
        "diary/questionnaire_answer.html",
        {
            "instrument": instrument,
            "form": form,
            "sections": form.sections(),
            "questionnaire_lang": questionnaire_lang(instrument),
        },
        status=400 if form.errors else 200,
    )


@patient_required
def questionnaire_history(request: HttpRequest, code: str) -> HttpResponse:
    instrument = _instrument_or_404(code)
    rows = selectors.questionnaire_history(patient=request.user, instrument=instrument.code)
    return render(
        request,
        "diary/questionnaire_history.html",
        {
            "instrument": instrument,
            "rows": rows,
            "questionnaire_lang": questionnaire_lang(instrument),
        },
    )


@patient_required
def questionnaire_detail(request: HttpRequest, response_id) -> HttpResponse:
    row = selectors.questionnaire_row(patient=request.user, response_id=response_id)
    if row is None:
        raise Http404("No such questionnaire response.")
    answers = [
        (item, next((o.label for o in item.options if o.value == row.answers.get(item.key)), None))
        for item in row.instrument.items
    ]
    return render(
        request,
        "diary/questionnaire_detail.html",
        {
            "row": row,
            "instrument": row.instrument,
            "answers": answers,
            "questionnaire_lang": questionnaire_lang(row.instrument),
        },
    )
