"""Background work of the diary. Tasks only call services, and never carry patient data in
their arguments (they are stored in the broker): ids and counts only."""

from __future__ import annotations

from celery import shared_task

from diary import services


@shared_task(name="diary.tasks.rotate_keys", acks_late=True, reject_on_worker_lost=True)
def rotate_keys(batch_size: int = 500) -> dict[str, int]:
    """Rewrap every data key under the first KEK. Safe to rerun or to run twice at once:
    rows are locked with SKIP LOCKED and keys already current are left alone."""
    return services.keys_rotate(batch_size=batch_size)


@shared_task(name="diary.tasks.prune_save_receipts", acks_late=True)
def prune_save_receipts() -> int:
    """Forget idempotency keys older than 30 days (schedule it daily in django-celery-beat;
    each save also prunes its own patient's old keys, so a missed run loses nothing)."""
    return services.receipts_prune()
