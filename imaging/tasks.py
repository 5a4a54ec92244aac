"""Celery tasks for imaging: they only call services (the inference run lives in
imaging.inference, which never imports this module)."""

from __future__ import annotations

from celery import shared_task

from imaging import inference


@shared_task(acks_late=True, ignore_result=True)
def run_inference(result_id: str) -> None:
    """Score one uploaded study. acks_late: a worker that dies mid-run leaves the message to be
    redelivered, and `result_run` is idempotent for results already finished."""
    inference.result_run(result_id=result_id)


@shared_task(acks_late=True, ignore_result=True)
def run_mri_scoring(result_id: str) -> None:
    """Score one uploaded MRI series (idempotent, as run_inference)."""
    from imaging.mri.inference import mri_result_run

    mri_result_run(result_id=result_id)
