"""privacy: local_only — a prompt holding personal data never reaches a cloud model."""
import json

import openai
import pytest

EMAIL = "jane.doe@example.com"
CARD = "4111 1111 1111 1111"
PROMPTS = [f"Write python code that emails {EMAIL} a report",  # a code task: the rules say LLM
           f"Solve this: my card {CARD} was charged 3x + 5 = 20 dollars",
           "word " * 600 + f" contact {EMAIL}"]  # long: the rules say LLM


def assert_cloud_saw_nothing(stack):
    stats = stack.cloud.stats()
    assert stats["requests"] == 0, stats
    assert not any(EMAIL in b or "4111" in b for b in stats["bodies"])


@pytest.mark.parametrize("prompt", PROMPTS)
@pytest.mark.parametrize("model,header", [("auto", None), ("auto", "llm"), ("smart", None), ("cloud-gpt", None),
                                          ("cloud-claude", None)])
def test_personal_data_stays_local(stack, prompt, model, header):
    raw = stack.client().chat.completions.with_raw_response.create(
        model=model, messages=[{"role": "user", "content": prompt}],
        extra_headers={"x-tandem-tier": header} if header else None)
    assert raw.headers["x-tandem-model"] == "local-slm"
    assert "privacy" in raw.headers["x-tandem-route"]
    assert_cloud_saw_nothing(stack)
    row = stack.wait_rows(1)[-1]
    assert row["local_only"] == 1 and row["locality"] == "local" and row["pii"]


CLEAN = [{"role": "user", "content": "Write python code that sorts a list"}]  # alone, it goes to the cloud
ELSEWHERE = {  # personal data outside the messages' text: the upstream would receive it all the same
    "an earlier tool call's arguments": dict(messages=CLEAN + [
        {"role": "assistant", "content": None, "tool_calls": [{"id": "c1", "type": "function", "function": {
            "name": "send_report", "arguments": json.dumps({"to": EMAIL})}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "sent"}]),
    "the user field": dict(messages=CLEAN, user=EMAIL),
    "metadata": dict(messages=CLEAN, extra_body={"metadata": {"card": CARD}}),
    "a tool's description": dict(messages=CLEAN, tools=[{"type": "function", "function": {
        "name": "notify", "description": f"Notify {EMAIL} when done", "parameters": {"type": "object"}}}]),
}


@pytest.mark.parametrize("where", list(ELSEWHERE))
@pytest.mark.parametrize("model", ["auto", "cloud-gpt", "cloud-claude"])
def test_personal_data_outside_the_messages_stays_local_too(stack, where, model):
    raw = stack.client().chat.completions.with_raw_response.create(model=model, **ELSEWHERE[where])
    assert raw.headers["x-tandem-model"] == "local-slm"
    assert "privacy" in raw.headers["x-tandem-route"]
    assert_cloud_saw_nothing(stack)
    assert stack.wait_rows(1)[-1]["local_only"] == 1


MEDIA = {
    "an image": {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgoAAAANSUhEUg=="}},
    "an audio clip": {"type": "input_audio", "input_audio": {"data": "UklGRiQAAABXQVZF", "format": "wav"}},
    "a file": {"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBERi0x", "filename": "id.pdf"}},
}


@pytest.mark.parametrize("part", list(MEDIA))
@pytest.mark.parametrize("model", ["auto", "cloud-gpt", "cloud-claude"])
def test_media_no_scan_can_read_stays_local(stack, part, model):
    """A scanned passport is personal data no text scan can find: under local_only, media stays local."""
    raw = stack.client().chat.completions.with_raw_response.create(model=model, messages=[
        {"role": "user", "content": [{"type": "text", "text": "Write python code that sorts a list"}, MEDIA[part]]}])
    assert raw.headers["x-tandem-model"] == "local-slm"
    assert "personal data (media)" in raw.headers["x-tandem-route"]
    assert stack.cloud.stats()["requests"] == 0
    assert "UklGR" in stack.slm.stats()["bodies"][0] or "iVBOR" in stack.slm.stats()["bodies"][0] or \
        "JVBER" in stack.slm.stats()["bodies"][0]  # the local server received the part itself
    row = stack.wait_rows(1)[-1]
    assert row["local_only"] == 1 and "media" in row["pii"]


def test_no_fallback_to_the_cloud_when_the_slm_fails(stack):
    stack.slm.control(script=[{"status": 500}, {"status": 500}])
    with pytest.raises(openai.APIStatusError) as e:
        stack.client().chat.completions.create(model="auto", messages=[{"role": "user", "content": PROMPTS[0]}])
    assert e.value.status_code == 502
    assert_cloud_saw_nothing(stack)


def test_streaming_and_tools_stay_local_too(stack):
    list(stack.client().chat.completions.create(model="cloud-gpt", stream=True,
                                                messages=[{"role": "user", "content": PROMPTS[1]}]))
    stack.client().chat.completions.create(model="auto", messages=[
        {"role": "system", "content": f"The user is {EMAIL}"}, {"role": "user", "content": "what is my name?"}],
        tools=[{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}])
    assert_cloud_saw_nothing(stack)


def test_without_personal_data_the_cloud_is_used(stack):
    raw = stack.client().chat.completions.with_raw_response.create(
        model="auto", messages=[{"role": "user", "content": "Write python code that sorts a list"}])
    assert raw.headers["x-tandem-model"] == "cloud-gpt"
    assert stack.cloud.stats()["requests"] == 1
    sent = json.loads(stack.cloud.stats()["bodies"][0])
    assert sent["model"] == "gpt-4o"


def test_privacy_off_lets_personal_data_escalate(make_stack):
    stack = make_stack(privacy="off")
    raw = stack.client().chat.completions.with_raw_response.create(
        model="auto", messages=[{"role": "user", "content": PROMPTS[0]}])
    assert raw.headers["x-tandem-model"] == "cloud-gpt"
