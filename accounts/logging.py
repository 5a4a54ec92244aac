import logging

from accounts.request_context import current_request_id


class RequestIdFilter(logging.Filter):
    """Adds the request id to every log record so that lines can be joined to a request."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id.get()
        return True
