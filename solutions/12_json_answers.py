# Solutions for notebooks/12_json_answers.ipynb: each section replaces the body of its exercise cell.

# %% Exercise 12.1
def ask_json(client, paragraph):
    completion = client.chat.completions.create(
        model=course.model,
        messages=[{"role": "system", "content": EXTRACT_PROMPT}, {"role": "user", "content": paragraph}],
        response_format={"type": "json_object"},   # JSON mode
    )
    return json.loads(completion.choices[0].message.content)   # the answer's content, as a dict

# %% Exercise 12.2
def typed_order(client, paragraph, **limits):
    completion = client.chat.completions.create(
        model=course.model,
        messages=[{"role": "system", "content": EXTRACT_PROMPT}, {"role": "user", "content": paragraph}],
        response_format={"type": "json_object"},
        **limits,                                  # e.g. max_completion_tokens=60
    )
    choice = completion.choices[0]
    if choice.finish_reason == "length":           # the answer stopped at the limit
        raise CutOff(f"cut off after {completion.usage.completion_tokens} tokens")
    return Order.model_validate_json(choice.message.content)   # an Order, validated

# %% Exercise 12.3
def prefilled_order(client, paragraph):
    messages = [
        {"role": "system", "content": EXTRACT_PROMPT},
        {"role": "user", "content": paragraph},
        {"role": "assistant", "content": "{", "partial": True},   # the start of Kimi's answer, in partial mode
    ]
    completion = client.chat.completions.create(model=course.model, messages=messages,
                                                extra_body={"thinking": {"type": "disabled"}})
    return json.loads("{" + completion.choices[0].message.content)   # your prefix and Kimi's continuation, together
