"""`{% live_contract %}`: the live contract (tasks/live_contract.py) as a JSON script element."""

from __future__ import annotations

from django import template
from django.utils.html import json_script
from django.utils.safestring import SafeString

from tasks.live_contract import ELEMENT_ID
from tasks.live_contract import live_contract as contract

register = template.Library()


@register.simple_tag
def live_contract() -> SafeString:
    """A `<script type="application/json">`: data, not code, so a script-src policy allows it."""
    return json_script(contract(), ELEMENT_ID)
