"""Images reach the model as image inputs on both wire APIs (issue 14.2): the scripted server
records what the agent sent."""

from __future__ import annotations

import base64

from tasks import event_kinds as kinds
from tasks.agent.config import ModelConfig, RetryPolicy
from tasks.agent.conversation import ImageInput, Message, item_from_dict
from tasks.agent.model import ModelClient
from tests.support import images
from tests.support.agent_run import make_spec, run
from tests.support.memory_sandbox import MemorySandbox
from tests.support.model_server import ScriptedModelServer, reply

PNG = images.png(2, 2)
SHOT = ImageInput("image/png", base64.b64encode(PNG).decode())
GIF = ImageInput("image/gif", base64.b64encode(images.GIF).decode())


def _send(api: str, conversation) -> dict:
    with ScriptedModelServer([reply("I see a red square.")]) as server:
        client = ModelClient(ModelConfig(base_url=server.url, api_key="sk-test", model="m-1",
                                         api=api, retry=RetryPolicy(max_retries=0)))
        try:
            client.complete(system="s", conversation=conversation, tools=[])
        finally:
            client.close()
        return server.requests[0].body


def _user_messages(api: str, body: dict) -> list[dict]:
    items = body["input"] if api == "responses" else body["messages"]
    return [m for m in items if m.get("role") == "user"]


def test_a_message_with_images_is_sent_as_text_and_image_parts(api):
    body = _send(api, [Message("user", "What is wrong in these?", (SHOT, GIF))])

    [user] = _user_messages(api, body)
    if api == "responses":
        assert user["content"] == [
            {"type": "input_text", "text": "What is wrong in these?"},
            {"type": "input_image", "image_url": "data:image/png;base64," + SHOT.data,
             "detail": "auto"},
            {"type": "input_image", "image_url": "data:image/gif;base64," + GIF.data,
             "detail": "auto"},
        ]
    else:
        assert user["content"] == [
            {"type": "text", "text": "What is wrong in these?"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64," + SHOT.data}},
            {"type": "image_url", "image_url": {"url": "data:image/gif;base64," + GIF.data}},
        ]
    # The bytes arrive unchanged.
    url = user["content"][1]["image_url"]
    url = url if isinstance(url, str) else url["url"]
    assert base64.b64decode(url.split(",", 1)[1]) == PNG


def test_a_message_without_images_stays_plain_text(api):
    body = _send(api, [Message("user", "hi")])
    assert _user_messages(api, body) == [{"role": "user", "content": "hi"}]


def test_images_survive_the_stored_conversation_so_a_follow_up_still_sends_them(api):
    stored = Message("user", "Match this mock-up.", (SHOT,)).to_dict()
    body = _send(api, [item_from_dict(stored), Message("user", "Now the footer too.")])
    first, second = _user_messages(api, body)
    assert len(first["content"]) == 2 and second["content"] == "Now the footer too."


def test_the_loop_sends_the_prompts_images_and_logs_them(model_server, api):
    """The agent loop: the person's images go with the first user message, an `images` event
    says so where it happened, and nothing of them reaches the sandbox."""
    model_server.add(reply("A red square."))
    box = MemorySandbox(files={"README.md": "demo\n"})
    spec = make_spec(model_server, api=api, mode="ask", prompt="What is this?",
                     images=(SHOT, GIF))

    outcome = run(spec, box)

    assert outcome.result.outcome == "succeeded"
    assert outcome.kinds[:2] == [kinds.PHASE, kinds.IMAGES]
    assert outcome.of(kinds.IMAGES) == [{
        "count": 2, "media_types": ["image/png", "image/gif"],
        "message": "2 images (PNG, GIF) went to the model with the prompt.",
    }]
    [user] = _user_messages(api, model_server.requests[0].body)
    assert len(user["content"]) == 3
    assert SHOT.data not in repr(box.files) and box.commands == []
