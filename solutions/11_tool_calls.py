# Solutions to the exercises of notebooks/11_tool_calls.ipynb.
# Each section holds the code that replaces the exercise cell's body (everything after its first line).

# %% Exercise 11.1
def tool_message(tool_call, result):
    return {
        "role": "tool",
        "tool_call_id": tool_call.id,
        "name": tool_call.function.name,
        "content": json.dumps(result),
    }

# %% Exercise 11.2
def next_messages(messages, reply, run):
    following = list(messages)
    following.append(reply)
    for tool_call in reply["tool_calls"]:
        following.append({"role": "tool", "tool_call_id": tool_call["id"], "name": tool_call["function"]["name"],
                          "content": run(tool_call)})
    return following

# %% Exercise 11.3
def collect_tool_calls(stream):
    calls = {}
    for chunk in stream:
        for delta in chunk.choices[0].delta.tool_calls or []:
            if delta.index not in calls:
                calls[delta.index] = {"id": delta.id, "type": "function",
                                      "function": {"name": delta.function.name, "arguments": ""}}
            calls[delta.index]["function"]["arguments"] += delta.function.arguments or ""
    return [calls[index] for index in sorted(calls)]
