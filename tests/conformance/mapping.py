"""How our messages correspond to aioslsk's, and where aioslsk differs.

This is the one place that knows both sides. Every other file treats messages
as opaque JSON.

* ``MESSAGES`` maps each (kind, code) to the aioslsk class path and a function
  that turns our message (its serde JSON, as slsk-proto derives it) into the
  attribute values aioslsk uses for the same message. Attributes a message
  does not list are taken from our field of the same name unchanged.
* ``DIVERGENCES`` lists every known case where aioslsk reads or writes the
  wire differently from us: when it applies to a generated value, and which
  check is expected to fail. A declared divergence that does not happen fails
  the suite too, so the list cannot go stale.
* ``PROBES`` are hand-made frames for divergences that generated values cannot
  reach (our strings are always valid UTF-8).

Kinds are those of the ``slsk`` tool: server-request (client to server,
aioslsk's ``Request``), server-response (aioslsk's ``Response``), peer-init,
peer, distributed (aioslsk's ``Request``, the only class they have).
"""

# Filled in by the helper from the schema (table name -> {variant: wire value}).
TABLES = {}


def wire(table, value):
    """Our JSON for a table value (a variant name; the raw value when a
    number table does not list it; ``{"Unknown": raw}`` when a string table
    does not) as the value that travels."""
    if value is None:
        return None
    if isinstance(value, dict) and set(value) == {"Unknown"}:
        return value["Unknown"]
    if isinstance(value, str) and value in TABLES[table]:
        return TABLES[table][value]
    return value


def variant(value):
    """A switch enum as (variant name, fields): ``{"Exists": {...}}`` or the
    bare name of a variant without fields."""
    if isinstance(value, str):
        return value, {}
    ((name, fields),) = value.items()
    return name, fields or {}


# Structures: ours -> aioslsk's dataclass attributes.

def user_stats(s):
    return dict(s)  # same four names on both sides


def file_data(f):
    return {
        "unknown": f["code"],
        "filename": f["filename"],
        "filesize": f["filesize"],
        "extension": f["extension"],
        "attributes": [
            {"key": wire("FileAttributeKind", a["key"]), "value": a["value"]}
            for a in f["attributes"]
        ],
    }


def directory_data(d):
    return {"name": d["name"], "files": [file_data(f) for f in d["files"]]}


def room_users(users):
    """Our list of RoomUser, as aioslsk's five parallel lists."""
    return {
        "users": [u["username"] for u in users],
        "users_status": [wire("UserStatus", u["status"]) for u in users],
        "users_stats": [user_stats(u["stats"]) for u in users],
        "users_slots_free": [u["slots_free"] for u in users],
        "users_countries": [u["country_code"] for u in users],
    }


def rooms(prefix, infos):
    return {prefix: [r["name"] for r in infos], prefix + "_user_count": [r["user_count"] for r in infos]}


def obfuscation(m):
    return {
        "obfuscated_port_amount": wire("ObfuscationType", m["obfuscation_type"]),
        "obfuscated_port": m["obfuscated_port"],
    }


def renamed(**names):
    """Attributes whose aioslsk name differs: aioslsk_name=our_name."""
    return lambda m: {aio: m[ours] for aio, ours in names.items()}


def embedded_search(m):
    """ServerSearchRequest (server and distributed): aioslsk reads the
    embedded DistributedSearchRequest as fixed fields. The suite adds the
    decoded embedded message to our JSON as ``embedded``."""
    search = m["embedded"]["DistributedSearchRequest"]
    return {
        "distributed_code": m["distributed_code"],
        "unknown": search["unknown"],
        "username": search["username"],
        "ticket": search["ticket"],
        "query": search["query"],
    }


def login_response(m):
    name, f = variant(m)
    if name == "Success":
        return {"success": True, "greeting": f["greeting"], "ip": f["ip"], "md5hash": f["md5_hash"],
                "privileged": f["is_supporter"], "reason": None}
    return {"success": False, "greeting": None, "ip": None, "md5hash": None, "privileged": None,
            "reason": wire("LoginRejectionReason", f["reason"])}


def add_user_response(m):
    name, f = variant(m["user"])
    if name == "Missing":
        return {"username": m["username"], "exists": False, "status": None, "user_stats": None,
                "country_code": None}
    return {"username": m["username"], "exists": True, "status": wire("UserStatus", f["status"]),
            "user_stats": user_stats(f["stats"]), "country_code": f["country_code"]}


def transfer_reply(m):
    name, f = variant(m["outcome"])
    if name == "Allowed":
        return {"ticket": m["ticket"], "allowed": True, "filesize": f["filesize"], "reason": None}
    return {"ticket": m["ticket"], "allowed": False, "filesize": None,
            "reason": wire("TransferRejectionReason", f["reason"])}


def user_info_reply(m):
    return {
        "has_picture": m["picture"] is not None,
        "upload_permissions": wire("UploadPermissions", m["upload_permissions"]),
    }


SR, SP = "server-request", "server-response"
PI, P, D = "peer-init", "peer", "distributed"

# (kind, code) -> (aioslsk class, our message name, attributes that differ).
# Attributes not returned by the function come from our field of the same
# name; a message without a function has the same names as ours throughout.
MESSAGES = {
    (SR, 1): ("Login.Request", "Login", renamed(client_version="version", md5hash="md5_hash")),
    (SP, 1): ("Login.Response", "Login", login_response),
    (SR, 2): ("SetListenPort.Request", "SetListenPort", obfuscation),
    (SR, 3): ("GetPeerAddress.Request", "GetPeerAddress", None),
    (SP, 3): ("GetPeerAddress.Response", "GetPeerAddress", obfuscation),
    (SR, 5): ("AddUser.Request", "AddUser", None),
    (SP, 5): ("AddUser.Response", "AddUser", add_user_response),
    (SR, 6): ("RemoveUser.Request", "RemoveUser", None),
    (SR, 7): ("GetUserStatus.Request", "GetUserStatus", None),
    (SP, 7): ("GetUserStatus.Response", "GetUserStatus",
              lambda m: {"status": wire("UserStatus", m["status"])}),
    (SR, 11): ("IgnoreUser.Request", "IgnoreUser", None),
    (SP, 11): ("IgnoreUser.Response", "IgnoreUser", None),
    (SR, 12): ("UnignoreUser.Request", "UnignoreUser", None),
    (SP, 12): ("UnignoreUser.Response", "UnignoreUser", None),
    (SR, 13): ("RoomChatMessage.Request", "RoomChatMessage", renamed(room="room_name")),
    (SP, 13): ("RoomChatMessage.Response", "RoomChatMessage", renamed(room="room_name")),
    (SR, 14): ("JoinRoom.Request", "JoinRoom", renamed(room="room_name")),
    (SP, 14): ("JoinRoom.Response", "JoinRoom",
               lambda m: {"room": m["room_name"], **room_users(m["users"])}),
    (SR, 15): ("LeaveRoom.Request", "LeaveRoom", renamed(room="room_name")),
    (SP, 15): ("LeaveRoom.Response", "LeaveRoom", renamed(room="room_name")),
    (SP, 16): ("UserJoinedRoom.Response", "UserJoinedRoom",
               lambda m: {"room": m["room_name"], "status": wire("UserStatus", m["status"]),
                          "user_stats": user_stats(m["stats"])}),
    (SP, 17): ("UserLeftRoom.Response", "UserLeftRoom", renamed(room="room_name")),
    (SR, 18): ("ConnectToPeer.Request", "ConnectToPeer",
               lambda m: {"typ": wire("ConnectionType", m["connection_type"])}),
    (SP, 18): ("ConnectToPeer.Response", "ConnectToPeer",
               lambda m: {"typ": wire("ConnectionType", m["connection_type"]), **obfuscation(m)}),
    (SR, 22): ("PrivateChatMessage.Request", "PrivateChatMessage", None),
    (SP, 22): ("PrivateChatMessage.Response", "PrivateChatMessage", None),
    (SR, 23): ("PrivateChatMessageAck.Request", "PrivateChatMessageAck", None),
    (SR, 25): ("FileSearchRoom.Request", "FileSearchRoom", None),
    (SR, 26): ("FileSearch.Request", "FileSearch", None),
    (SP, 26): ("FileSearch.Response", "FileSearch", None),
    (SR, 28): ("SetStatus.Request", "SetStatus", lambda m: {"status": wire("UserStatus", m["status"])}),
    (SR, 32): ("Ping.Request", "Ping", None),
    (SP, 32): ("Ping.Response", "Ping", None),
    (SR, 33): ("SendConnectTicket.Request", "SendConnectTicket", None),
    (SP, 33): ("SendConnectTicket.Response", "SendConnectTicket", None),
    (SR, 34): ("SendDownloadSpeed.Request", "SendDownloadSpeed", None),
    (SR, 35): ("SharedFoldersFiles.Request", "SharedFoldersFiles", None),
    (SR, 36): ("GetUserStats.Request", "GetUserStats", None),
    (SP, 36): ("GetUserStats.Response", "GetUserStats", lambda m: {"user_stats": user_stats(m["stats"])}),
    (SP, 41): ("Kicked.Response", "Kicked", None),
    (SR, 42): ("UserSearch.Request", "UserSearch", None),
    (SR, 50): ("DeprecatedGetItemRecommendations.Request", "DeprecatedGetItemRecommendations", None),
    (SP, 50): ("DeprecatedGetItemRecommendations.Response", "DeprecatedGetItemRecommendations", None),
    (SR, 51): ("AddInterest.Request", "AddInterest", None),
    (SR, 52): ("RemoveInterest.Request", "RemoveInterest", None),
    (SR, 54): ("GetRecommendations.Request", "GetRecommendations", None),
    (SP, 54): ("GetRecommendations.Response", "GetRecommendations", None),
    (SR, 55): ("GetInterests.Request", "GetInterests", None),
    (SP, 55): ("GetInterests.Response", "GetInterests", None),
    (SR, 56): ("GetGlobalRecommendations.Request", "GetGlobalRecommendations", None),
    (SP, 56): ("GetGlobalRecommendations.Response", "GetGlobalRecommendations", None),
    (SR, 57): ("GetUserInterests.Request", "GetUserInterests", None),
    (SP, 57): ("GetUserInterests.Response", "GetUserInterests", None),
    (SR, 58): ("ExecuteCommand.Request", "ExecuteCommand", None),
    (SR, 64): ("RoomList.Request", "RoomList", None),
    (SP, 64): ("RoomList.Response", "RoomList",
               lambda m: {**rooms("rooms", m["rooms"]),
                          **rooms("rooms_private_owned", m["rooms_private_owned"]),
                          **rooms("rooms_private", m["rooms_private"])}),
    (SR, 65): ("ExactFileSearch.Request", "ExactFileSearch", None),
    (SP, 65): ("ExactFileSearch.Response", "ExactFileSearch", None),
    (SP, 66): ("AdminMessage.Response", "AdminMessage", None),
    (SR, 67): ("GetUserList.Request", "GetUserList", None),
    (SP, 67): ("GetUserList.Response", "GetUserList", lambda m: room_users(m["users"])),
    (SR, 68): ("TunneledMessage.Request", "TunneledMessage", None),
    (SP, 68): ("TunneledMessage.Response", "TunneledMessage", None),
    (SP, 69): ("PrivilegedUsers.Response", "PrivilegedUsers", None),
    (SR, 71): ("ToggleParentSearch.Request", "ToggleParentSearch", None),
    (SR, 73): ("ParentIP.Request", "ParentIP", None),
    (SR, 80): ("Unknown80.Request", "Unknown80", None),
    (SP, 83): ("ParentMinSpeed.Response", "ParentMinSpeed", renamed(speed="parent_min_speed")),
    (SP, 84): ("ParentSpeedRatio.Response", "ParentSpeedRatio", renamed(ratio="parent_speed_ratio")),
    (SP, 86): ("ParentInactivityTimeout.Response", "ParentInactivityTimeout", None),
    (SP, 87): ("SearchInactivityTimeout.Response", "SearchInactivityTimeout", None),
    (SP, 88): ("MinParentsInCache.Response", "MinParentsInCache", None),
    (SP, 89): ("DistributedDistributeInterval.Response", "DistributionInterval", None),
    (SP, 90): ("DistributedAliveInterval.Response", "DistributedAliveInterval", None),
    (SP, 91): ("AddPrivilegedUser.Response", "AddPrivilegedUser", None),
    (SR, 92): ("CheckPrivileges.Request", "CheckPrivileges", None),
    (SP, 92): ("CheckPrivileges.Response", "CheckPrivileges", None),
    (SP, 93): ("ServerSearchRequest.Response", "ServerSearchRequest", embedded_search),
    (SR, 100): ("AcceptChildren.Request", "AcceptChildren", None),
    (SP, 102): ("PotentialParents.Response", "PotentialParents", renamed(entries="parents")),
    (SR, 103): ("WishlistSearch.Request", "WishlistSearch", None),
    (SP, 104): ("WishlistInterval.Response", "WishlistInterval", None),
    (SR, 110): ("GetSimilarUsers.Request", "GetSimilarUsers", None),
    (SP, 110): ("GetSimilarUsers.Response", "GetSimilarUsers", None),
    (SR, 111): ("GetItemRecommendations.Request", "GetItemRecommendations", None),
    (SP, 111): ("GetItemRecommendations.Response", "GetItemRecommendations", None),
    (SR, 112): ("GetItemSimilarUsers.Request", "GetItemSimilarUsers", None),
    (SP, 112): ("GetItemSimilarUsers.Response", "GetItemSimilarUsers", None),
    (SP, 113): ("RoomTickers.Response", "RoomTickers", None),
    (SP, 114): ("RoomTickerAdded.Response", "RoomTickerAdded", None),
    (SP, 115): ("RoomTickerRemoved.Response", "RoomTickerRemoved", None),
    (SR, 116): ("SetRoomTicker.Request", "SetRoomTicker", None),
    (SR, 117): ("AddHatedInterest.Request", "AddHatedInterest", None),
    (SR, 118): ("RemoveHatedInterest.Request", "RemoveHatedInterest", None),
    (SR, 120): ("RoomSearch.Request", "RoomSearch", None),
    (SR, 121): ("SendUploadSpeed.Request", "SendUploadSpeed", None),
    (SR, 122): ("GetUserPrivileges.Request", "GetUserPrivileges", None),
    (SP, 122): ("GetUserPrivileges.Response", "GetUserPrivileges", None),
    (SR, 123): ("GiveUserPrivileges.Request", "GiveUserPrivileges", None),
    (SR, 124): ("PrivilegesNotification.Request", "PrivilegesNotification", None),
    (SR, 125): ("PrivilegesNotificationAck.Request", "PrivilegesNotificationAck", None),
    (SR, 126): ("BranchLevel.Request", "BranchLevel", None),
    (SR, 127): ("BranchRoot.Request", "BranchRoot", None),
    (SR, 129): ("ChildDepth.Request", "ChildDepth", None),
    (SP, 130): ("ResetDistributed.Response", "ResetDistributed", None),
    (SP, 133): ("PrivateRoomMembers.Response", "PrivateRoomMembers", renamed(usernames="members")),
    (SR, 134): ("PrivateRoomGrantMembership.Request", "PrivateRoomGrantMembership", None),
    (SP, 134): ("PrivateRoomGrantMembership.Response", "PrivateRoomGrantMembership", None),
    (SR, 135): ("PrivateRoomRevokeMembership.Request", "PrivateRoomRevokeMembership", None),
    (SP, 135): ("PrivateRoomRevokeMembership.Response", "PrivateRoomRevokeMembership", None),
    (SR, 136): ("PrivateRoomDropMembership.Request", "PrivateRoomDropMembership", None),
    (SR, 137): ("PrivateRoomDropOwnership.Request", "PrivateRoomDropOwnership", None),
    (SP, 139): ("PrivateRoomMembershipGranted.Response", "PrivateRoomMembershipGranted", None),
    (SP, 140): ("PrivateRoomMembershipRevoked.Response", "PrivateRoomMembershipRevoked", None),
    (SR, 141): ("TogglePrivateRoomInvites.Request", "TogglePrivateRoomInvites", None),
    (SP, 141): ("TogglePrivateRoomInvites.Response", "TogglePrivateRoomInvites", None),
    (SR, 142): ("NewPassword.Request", "NewPassword", None),
    (SR, 143): ("PrivateRoomGrantOperator.Request", "PrivateRoomGrantOperator", None),
    (SP, 143): ("PrivateRoomGrantOperator.Response", "PrivateRoomGrantOperator", None),
    (SR, 144): ("PrivateRoomRevokeOperator.Request", "PrivateRoomRevokeOperator", None),
    (SP, 144): ("PrivateRoomRevokeOperator.Response", "PrivateRoomRevokeOperator", None),
    (SP, 145): ("PrivateRoomOperatorGranted.Response", "PrivateRoomOperatorGranted", None),
    (SP, 146): ("PrivateRoomOperatorRevoked.Response", "PrivateRoomOperatorRevoked", None),
    (SP, 148): ("PrivateRoomOperators.Response", "PrivateRoomOperators", renamed(usernames="operators")),
    (SR, 149): ("PrivateChatMessageUsers.Request", "PrivateChatMessageUsers", None),
    (SR, 150): ("EnablePublicChat.Request", "EnablePublicChat", None),
    (SR, 151): ("DisablePublicChat.Request", "DisablePublicChat", None),
    (SP, 152): ("PublicChatMessage.Response", "PublicChatMessage", None),
    (SR, 153): ("GetRelatedSearches.Request", "GetRelatedSearches", None),
    (SP, 153): ("GetRelatedSearches.Response", "GetRelatedSearches",
                # aioslsk reads strings; only an empty list agrees (see DIVERGENCES).
                lambda m: {"related_searches": [r["term"] for r in m["related_searches"]]}),
    (SP, 160): ("ExcludedSearchPhrases.Response", "ExcludedSearchPhrases", None),
    (SR, 1001): ("CannotConnect.Request", "CannotConnect", None),
    (SP, 1001): ("CannotConnect.Response", "CannotConnect", None),
    (SP, 1003): ("CannotCreateRoom.Response", "CannotCreateRoom", renamed(room="room_name")),

    (PI, 0): ("PeerPierceFirewall.Request", "PeerPierceFirewall", None),
    (PI, 1): ("PeerInit.Request", "PeerInit",
              lambda m: {"typ": wire("ConnectionType", m["connection_type"]),
                         "ticket": next(iter(m["ticket"].values()))}),

    (P, 4): ("PeerSharesRequest.Request", "PeerSharesRequest", None),
    (P, 5): ("PeerSharesReply.Request", "PeerSharesReply",
             lambda m: {"directories": [directory_data(d) for d in m["directories"]],
                        "locked_directories": None if m["locked_directories"] is None
                        else [directory_data(d) for d in m["locked_directories"]]}),
    (P, 9): ("PeerSearchReply.Request", "PeerSearchReply",
             lambda m: {"results": [file_data(f) for f in m["results"]],
                        "locked_results": None if m["locked_results"] is None
                        else [file_data(f) for f in m["locked_results"]]}),
    (P, 15): ("PeerUserInfoRequest.Request", "PeerUserInfoRequest", None),
    (P, 16): ("PeerUserInfoReply.Request", "PeerUserInfoReply", user_info_reply),
    (P, 36): ("PeerDirectoryContentsRequest.Request", "PeerDirectoryContentsRequest", None),
    (P, 37): ("PeerDirectoryContentsReply.Request", "PeerDirectoryContentsReply",
              lambda m: {"directories": [directory_data(d) for d in m["directories"]]}),
    (P, 40): ("PeerTransferRequest.Request", "PeerTransferRequest",
              lambda m: {"direction": wire("TransferDirection", m["direction"])}),
    (P, 41): ("PeerTransferReply.Request", "PeerTransferReply", transfer_reply),
    (P, 43): ("PeerTransferQueue.Request", "PeerTransferQueue", None),
    (P, 44): ("PeerPlaceInQueueReply.Request", "PeerPlaceInQueueReply", None),
    (P, 46): ("PeerUploadFailed.Request", "PeerUploadFailed", None),
    (P, 50): ("PeerTransferQueueFailed.Request", "PeerTransferQueueFailed",
              lambda m: {"reason": wire("TransferRejectionReason", m["reason"])}),
    (P, 51): ("PeerPlaceInQueueRequest.Request", "PeerPlaceInQueueRequest", None),
    (P, 52): ("PeerUploadQueueNotification.Request", "PeerUploadQueueNotification", None),

    (D, 0): ("DistributedPing.Request", "DistributedPing", None),
    (D, 1): ("DistributedInit.Request", "DistributedInit", None),
    (D, 3): ("DistributedSearchRequest.Request", "DistributedSearchRequest", None),
    (D, 4): ("DistributedBranchLevel.Request", "DistributedBranchLevel", None),
    (D, 5): ("DistributedBranchRoot.Request", "DistributedBranchRoot", None),
    (D, 7): ("DistributedChildDepth.Request", "DistributedChildDepth", None),
    (D, 93): ("DistributedServerSearchRequest.Request", "DistributedServerSearchRequest", embedded_search),
}


# Which check a divergence breaks.
OURS_TO_AIOSLSK = "ours-to-aioslsk"  # our frame, read by aioslsk
AIOSLSK_TO_OURS = "aioslsk-to-ours"  # aioslsk's frame, read by us
BOTH = "both"


def _embedded_is_not_a_search(m):
    embedded = m.get("embedded")
    return not (isinstance(embedded, dict) and "DistributedSearchRequest" in embedded)


# id -> where it applies, when, which check it breaks, and why. The reasons are
# what docs/conformance.rst shows.
DIVERGENCES = {
    "login-without-hash": {
        "messages": [(SR, 1)],
        "when": lambda m: m["md5_hash"] is None or m["minor_version"] is None,
        "breaks": OURS_TO_AIOSLSK,
        "reason": "aioslsk always reads ``md5_hash`` and ``minor_version`` in a Login request; "
                  "clients up to version 149 leave them out, and the schema keeps them optional. "
                  "aioslsk fails on such a frame (it writes them only when set, so the other "
                  "direction agrees).",
    },
    "login-rejection-detail": {
        "messages": [(SP, 1)],
        "when": lambda m: variant(m)[0] == "Failure" and variant(m)[1]["detail"] is not None,
        "breaks": BOTH,
        "reason": "aioslsk has no ``detail`` string after the rejection reason of a failed "
                  "Login (ERRATA: present after ``INVALIDUSERNAME``): it leaves it unread, "
                  "and cannot write it.",
    },
    "search-reply-unknown": {
        "messages": [(P, 9)],
        "when": lambda m: m["unknown"] is None,
        "breaks": OURS_TO_AIOSLSK,
        "reason": "aioslsk always reads the ``unknown`` u32 of PeerSearchReply; the schema "
                  "reads it only if bytes remain (we always write it when sending). "
                  "aioslsk fails on a reply that ends after ``queue_size``.",
    },
    "cannot-connect-username": {
        "messages": [(SP, 1001)],
        "when": lambda m: m["username"] is not None,
        "breaks": BOTH,
        "reason": "aioslsk's CannotConnect response is the ticket only; ERRATA says a username "
                  "may follow, which aioslsk leaves unread and cannot write.",
    },
    "related-search-scores": {
        "messages": [(SP, 153)],
        "when": lambda m: len(m["related_searches"]) > 0,
        "breaks": BOTH,
        "reason": "aioslsk reads GetRelatedSearches' list as strings; ERRATA: each entry is a "
                  "term and a ``u32`` score. Only an empty list agrees.",
    },
    "peer-init-wide-ticket": {
        "messages": [(PI, 1)],
        "when": lambda m: "Wide" in m["ticket"],
        "breaks": AIOSLSK_TO_OURS,
        "reason": "aioslsk reads a ``u64`` PeerInit ticket (as we do) but always writes a "
                  "``u32``, so a wide ticket does not survive its encoder.",
    },
    "embedded-not-a-search": {
        "messages": [(SP, 93), (D, 93)],
        "when": lambda m: _embedded_is_not_a_search(m) or not m.get("padded", True),
        "breaks": BOTH,
        "reason": "aioslsk gives ServerSearchRequest (server and distributed code 93) the fixed "
                  "layout of an embedded DistributedSearchRequest; ERRATA: it is an embedded "
                  "distributed message of any code, which the schema keeps as a raw payload, "
                  "and on a distributed connection the ``00 00 00`` padding before it may be "
                  "absent. Only embedded search requests (with the padding on a distributed "
                  "connection) are readable by aioslsk.",
    },
}

# Text that is not UTF-8 (ERRATA: decode it as latin-1; aioslsk uses cp1252,
# which maps 0x80-0x9F differently and cannot decode five of those bytes).
# Each probe is a server AdminMessage (code 66) whose string is the given bytes.
PROBES = [
    {
        "divergence": "cp1252-text",
        "string_bytes": "e9",
        "ours": "\u00e9",
        "aioslsk": "\u00e9",
        "note": "latin-1 and cp1252 agree on 0xA0-0xFF",
    },
    {
        "divergence": "cp1252-text",
        "string_bytes": "80",
        "ours": "\u0080",
        "aioslsk": "\u20ac",
        "note": "0x80 is U+0080 in latin-1, the euro sign in cp1252",
    },
    {
        "divergence": "cp1252-text",
        "string_bytes": "81",
        "ours": "\u0081",
        "aioslsk": None,
        "note": "0x81 is undefined in cp1252: aioslsk fails to decode",
    },
]

DIVERGENCES["cp1252-text"] = {
    "messages": [],  # every string; shown by PROBES
    "when": None,
    "breaks": OURS_TO_AIOSLSK,
    "reason": "A string that is not valid UTF-8 decodes as latin-1 in the schema (ERRATA), as "
              "cp1252 in aioslsk: bytes 0x80-0x9F give different characters, and 0x81, 0x8D, "
              "0x8F, 0x90 and 0x9D make aioslsk fail. Our strings are always valid UTF-8, so "
              "generated values cannot reach this; hand-made frames (probes) show it.",
}
