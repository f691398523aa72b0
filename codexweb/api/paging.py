"""Paged lists in API answers: `?page=&page_size=` in, `{results, page, page_size, has_next}`
out (openapi_parts.page_of describes it). One row past the page is read to know `has_next`
without counting the whole list."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet
from django.http import JsonResponse, QueryDict

from codexweb.query_params import query_int

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20



def page_response(
    params: QueryDict, rows: QuerySet[Any], represent: Callable[[Any], dict[str, Any]]
) -> JsonResponse:
    """The page of `rows` that `params` asks for, each row as `represent` shows it;
    QueryParamError (a 400) for a page or size that is not a whole number in range."""
    page = query_int(params, "page", 1, minimum=1, maximum=100000)
    size = query_int(params, "page_size", DEFAULT_PAGE_SIZE, minimum=1, maximum=MAX_PAGE_SIZE)
    chunk = list(rows[(page - 1) * size : page * size + 1])
    return JsonResponse(
        {
            "results": [represent(row) for row in chunk[:size]],
            "page": page,
            "page_size": size,
            "has_next": len(chunk) > size,
        }
    )
