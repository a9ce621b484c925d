"""The original lab's own requests, and the model list they are checked against.

The lab (and the article it cites) sent its requests to moonshot-v1-8k and moonshot-v1-32k. Both were retired on
2026-08-31, with the whole moonshot-v1 family and kimi-k2.5: the real service now answers those requests with
404 "Not found the model moonshot-v1-8k or Permission denied" (real_404_model_not_found; HeyPuter/puter PR #3801,
diillson/chatcli #1344). The local server gives that 404 itself, from the model list below, so the lab's requests
need no recording: a 200 for them would be one the real service no longer gives.
"""
from helpers.authoring import json_answer

RECORDINGS = []

MODELS_DOCS = ("the four models a live GET /v1/models listed on 2026-09-02 (diillson/chatcli #1344); the object's fields "
               "from https://platform.kimi.com/docs/api/list-models")


def _model(model_id: str, created: int, context: int, image: bool = False, video: bool = False, reasoning: bool = False):
    return {"id": model_id, "object": "model", "created": created, "owned_by": "moonshot", "context_length": context,
            "supports_image_in": image, "supports_video_in": video, "supports_reasoning": reasoning}


RECORDINGS += [
    json_answer("models-list", "GET", "/v1/models", None, {"object": "list", "data": [
        _model("kimi-k3", 1784160000, 1048576, True, False, True),
        _model("kimi-k2.7-code", 1780272000, 262144, reasoning=True),
        _model("kimi-k2.7-code-highspeed", 1780272000, 262144, reasoning=True),
        _model("kimi-k2.6", 1776470400, 262144, True, True, True),
    ]}, MODELS_DOCS,
        note="written by hand: the ids are the four a live list showed on 2026-09-02; no real body of this endpoint was "
             "found, so the fields follow the documentation and the `created` dates (kimi-k3: its launch, 2026-07-16), "
             "context lengths and capabilities of the kimi-k2.7-code models are illustrative. kimi-k3's image input is "
             "seen in the probe log (an image was accepted). `make record` replaces it with the live list."),
    json_answer("balance", "GET", "/v1/users/me/balance", None,
                {"code": 0, "data": {"available_balance": 49.58894, "voucher_balance": 46.58893, "cash_balance": 3.00001},
                 "scode": "0x0", "status": True},
                "https://platform.kimi.com/docs/api/balance (the documented example values)",
                note="written by hand from the documentation's example; these are not anyone's real balance."),
]
