"""Lesson 11 (tool calls): a small assistant with two offline tools, a unit converter and a table of cities.

No real Kimi answer that calls a tool was found anywhere (see helpers/authoring_tools.py): every answer here is
written by hand. Its envelope (headers, id, usage, stream framing) is shaped after the real captures named in each
recording's source; the tool_calls in it follow Kimi's documentation, which each source names too. The requests are
what the notebook sends: the course's model, the messages and TOOLS (as the notebook defines them; a copy below),
nothing else unless a section adds it (stream, tool_choice, thinking). An assistant message sent back is the answer
as it came (role, content "", reasoning_content, tool_calls); a tool message is {"role": "tool", "tool_call_id",
"name", "content": json.dumps(result)}, as Kimi's documentation writes it.

The refusals the lesson shows (a tool without type, tool_choice "required" or a named function while thinking, an
assistant tool call sent back without its reasoning_content) need no recording: the local server answers them itself
with the real messages (helpers/tool_rules.py).
"""
import json

from helpers.authoring import chat
from helpers.authoring_tools import WEB_SEARCH_DOCS, call, tool_calls_chat, with_search_tokens
from helpers.settings import DEFAULT_MODEL

UNITS = ["m", "km", "ft", "mi", "C", "F"]
TOOLS = [
    {"type": "function",
     "function": {
         "name": "convert_units",
         "description": "Convert a length or a temperature from one unit to another.",
         "parameters": {
             "type": "object",
             "properties": {
                 "value": {"type": "number", "description": "the number to convert"},
                 "from_unit": {"type": "string", "enum": UNITS},
                 "to_unit": {"type": "string", "enum": UNITS},
             },
             "required": ["value", "from_unit", "to_unit"],
         },
     }},
    {"type": "function",
     "function": {
         "name": "lookup_city",
         "description": "Look up a city in a small table: its country, elevation in metres and population in millions.",
         "parameters": {
             "type": "object",
             "properties": {"city": {"type": "string", "description": "the city's English name, such as Lhasa"}},
             "required": ["city"],
         },
     }},
]
CITIES = {
    "Beijing": {"country": "China", "elevation_m": 44, "population_millions": 21.9},
    "Kunming": {"country": "China", "elevation_m": 1892, "population_millions": 8.5},
    "Lhasa": {"country": "China", "elevation_m": 3656, "population_millions": 0.87},
    "Shanghai": {"country": "China", "elevation_m": 4, "population_millions": 24.9},
}
TO_METRES = {"m": 1.0, "km": 1000.0, "ft": 0.3048, "mi": 1609.344}
WEB_SEARCH = [{"type": "builtin_function", "function": {"name": "$web_search"}}]
THINKING_OFF = {"type": "disabled"}


def convert(value, from_unit, to_unit):
    """The notebook's convert_units, for lengths (the recordings use no temperature)."""
    return {"value": round(value * TO_METRES[from_unit] / TO_METRES[to_unit], 4), "unit": to_unit}


def city(name):
    return {"city": name, **CITIES[name]}


def user(text):
    return {"role": "user", "content": text}


def body(messages, tools=TOOLS, **extra):
    return {"model": DEFAULT_MODEL, "messages": messages, "tools": tools, **extra}


def sent_back(recording):
    """The assistant message of a recorded answer, as a client sends it back (the whole message)."""
    return dict(recording.response["body"]["choices"][0]["message"])


def tool_result(one_call, result):
    return {"role": "tool", "tool_call_id": one_call["id"], "name": one_call["function"]["name"],
            "content": json.dumps(result, ensure_ascii=False)}


RECORDINGS = []

# §3-§6: one call, one answer. Sent with requests (§3, §5) and the SDK (§6): the same bodies.
MILES = "How many miles is a 10 km run?"
MILES_CALL = call("convert_units", {"value": 10, "from_unit": "km", "to_unit": "mi"}, 0)
miles_1 = tool_calls_chat("l11-miles-call", body([user(MILES)]), [MILES_CALL],
                          reasoning="The user wants 10 km in miles. I have convert_units: value 10, from km to mi.")
miles_2 = chat("l11-miles-answer", body([user(MILES), sent_back(miles_1),
                                         tool_result(MILES_CALL, convert(10, "km", "mi"))]),
               "A 10 km run is about 6.21 miles.",
               reasoning="The tool says 10 km is 6.2137 miles. Round it to two decimals.")
RECORDINGS += [miles_1, miles_2]

# §7 and the loop's bound in §12: two rounds of tools, then words.
LHASA = "How high above sea level is Lhasa, in feet?"
LHASA_CALL = call("lookup_city", {"city": "Lhasa"}, 0)
lhasa_1 = tool_calls_chat("l11-lhasa-lookup", body([user(LHASA)]), [LHASA_CALL],
                          reasoning="I need Lhasa's elevation first. Look it up in the city table, then convert it.")
LHASA_TURN_1 = [user(LHASA), sent_back(lhasa_1), tool_result(LHASA_CALL, city("Lhasa"))]
FEET_CALL = call("convert_units", {"value": 3656, "from_unit": "m", "to_unit": "ft"}, 1)
lhasa_2 = tool_calls_chat("l11-lhasa-convert", body(LHASA_TURN_1), [FEET_CALL],
                          reasoning="The table says Lhasa is 3656 m above sea level. Now convert metres to feet.")
lhasa_3 = chat("l11-lhasa-answer",
               body(LHASA_TURN_1 + [sent_back(lhasa_2), tool_result(FEET_CALL, convert(3656, "m", "ft"))]),
               "Lhasa lies about 3,656 m above sea level, which is roughly 11,995 feet.",
               reasoning="3656 m is 11994.75 ft. Round to 11,995 and give both units.")
RECORDINGS += [lhasa_1, lhasa_2, lhasa_3]

# §8 and exercise 11.2: two calls in one answer; §11 and exercise 11.3: the same answer streamed.
HIGHER = "Which is higher above sea level, Kunming or Lhasa, and by how many metres?"
KUNMING_CALL = call("lookup_city", {"city": "Kunming"}, 0)
LHASA_CALL_2 = call("lookup_city", {"city": "Lhasa"}, 1)
HIGHER_REASONING = "I need both elevations. Look up Kunming and Lhasa in the table, both at once."
higher_1 = tool_calls_chat("l11-higher-lookups", body([user(HIGHER)]), [KUNMING_CALL, LHASA_CALL_2],
                           reasoning=HIGHER_REASONING)
higher_stream = tool_calls_chat("l11-higher-lookups-stream", body([user(HIGHER)], stream=True),
                                [KUNMING_CALL, LHASA_CALL_2], reasoning=HIGHER_REASONING)
higher_2 = chat("l11-higher-answer",
                body([user(HIGHER), sent_back(higher_1), tool_result(KUNMING_CALL, city("Kunming")),
                      tool_result(LHASA_CALL_2, city("Lhasa"))]),
                "Lhasa is higher: 3,656 m above sea level against Kunming's 1,892 m, a difference of 1,764 metres.",
                reasoning="Kunming 1892 m, Lhasa 3656 m. 3656 - 1892 = 1764.")
RECORDINGS += [higher_1, higher_stream, higher_2]

# §10: tool_choice. "none" answers in words; a forced choice while thinking is refused by the server itself;
# with thinking off, a named function is called (no reasoning_content then).
RECORDINGS += [
    chat("l11-miles-tool-choice-none", body([user(MILES)], tool_choice="none"), "A 10 km run is about 6.2 miles.",
         reasoning="I may not use tools here. 1 mile is about 1.609 km, so 10 km is about 6.2 miles."),
    tool_calls_chat("l11-miles-forced-no-thinking",
                    body([user(MILES)], tool_choice={"type": "function", "function": {"name": "convert_units"}},
                         thinking=THINKING_OFF), [MILES_CALL]),
]

# §12: what goes wrong. A function that raises (the city is not in the table), and a tool the model asks for that
# was never offered (written by hand to show the case: models do this now and then).
CHENGDU = "How high above sea level is Chengdu?"
CHENGDU_CALL = call("lookup_city", {"city": "Chengdu"}, 0)
chengdu_1 = tool_calls_chat("l11-chengdu-lookup", body([user(CHENGDU)]), [CHENGDU_CALL],
                            reasoning="Look up Chengdu in the city table.")
CHENGDU_ERROR = {"error": "ValueError: Chengdu is not in the table"}
chengdu_2 = chat("l11-chengdu-answer", body([user(CHENGDU), sent_back(chengdu_1),
                                             tool_result(CHENGDU_CALL, CHENGDU_ERROR)]),
                 "Chengdu isn't in the city table I can look things up in, so I can't give you its elevation from "
                 "there. If you know it, tell me and I can convert it to feet.",
                 reasoning="The lookup failed: Chengdu is not in the table. Say so instead of guessing a number.")
WEATHER = "Is it raining in Lhasa right now?"
WEATHER_CALL = call("get_weather", {"city": "Lhasa"}, 0)
weather_1 = tool_calls_chat("l11-weather-unknown-tool", body([user(WEATHER)]), [WEATHER_CALL],
                            reasoning="The user asks about the current weather in Lhasa. Call get_weather.",
                            extra_note="The model asks for get_weather, a tool the request never offered: written "
                                       "by hand to show what a client must do then.")
WEATHER_ERROR = {"error": "there is no tool named get_weather"}
weather_2 = chat("l11-weather-answer", body([user(WEATHER), sent_back(weather_1),
                                             tool_result(WEATHER_CALL, WEATHER_ERROR)]),
                 "I can't check the current weather: I have no weather tool, only a unit converter and a small "
                 "table of cities. A weather app or website will tell you whether it is raining in Lhasa now.",
                 reasoning="There is no weather tool. Tell the user what I can and cannot do.")
RECORDINGS += [chengdu_1, chengdu_2, weather_1, weather_2]

# Exercise 11.1: the marathon in kilometres.
MARATHON = "How many kilometres is a 26.2-mile marathon?"
MARATHON_CALL = call("convert_units", {"value": 26.2, "from_unit": "mi", "to_unit": "km"}, 0)
marathon_1 = tool_calls_chat("l11-marathon-call", body([user(MARATHON)]), [MARATHON_CALL],
                             reasoning="Convert 26.2 miles to kilometres with convert_units.")
marathon_2 = chat("l11-marathon-answer", body([user(MARATHON), sent_back(marathon_1),
                                               tool_result(MARATHON_CALL, convert(26.2, "mi", "km"))]),
                  "A 26.2-mile marathon is about 42.16 km.",
                  reasoning="The tool says 42.1648 km. Round to two decimals.")
RECORDINGS += [marathon_1, marathon_2]

# §13: Kimi's built-in $web_search (documented only; WEB_SEARCH_DOCS). The model's arguments go back unchanged as
# the tool message's content; the search's tokens are then counted in prompt_tokens.
SEARCH = "Search the web for Moonshot AI's Context Caching and tell me in one sentence what it is."
SEARCH_TOKENS = 3254
SEARCH_CALL = call("$web_search", {"search_result": {"search_id": "7f3b2c1d9e8a4b6c"},
                                   "usage": {"total_tokens": SEARCH_TOKENS}}, 0)
search_1 = tool_calls_chat("l11-web-search-call", body([user(SEARCH)], tools=WEB_SEARCH), [SEARCH_CALL],
                           reasoning="The user asks me to search the web. Use $web_search.", basis=WEB_SEARCH_DOCS,
                           extra_note="The arguments' search_id is made up; real ones are the service's own.")
search_2 = with_search_tokens(chat(
    "l11-web-search-answer",
    body([user(SEARCH), sent_back(search_1),
          {"role": "tool", "tool_call_id": SEARCH_CALL["id"], "name": "$web_search",
           "content": SEARCH_CALL["function"]["arguments"]}], tools=WEB_SEARCH),
    "Context Caching lets the Kimi API keep a long, repeated prompt prefix (a document, a system prompt) on the "
    "server, so later requests that start with it are cheaper, billed at the cached-token price, and faster.",
    reasoning="The search results describe Context Caching: a cached prefix, cheaper cached tokens, lower latency.",
    source=None), SEARCH_TOKENS)
search_2.source["basis"] = WEB_SEARCH_DOCS
RECORDINGS += [search_1, search_2]
