"""The actions the audit log records. Stable strings: exports and filters rely on them."""

from __future__ import annotations

MEMBER_INVITED = "member.invited"
INVITE_REVOKED = "invite.revoked"
MEMBER_JOINED = "member.joined"
MEMBER_ROLE_CHANGED = "member.role_changed"
MEMBER_REMOVED = "member.removed"
DOMAIN_LIST_CREATED = "domain_list.created"
DOMAIN_LIST_UPDATED = "domain_list.updated"
DOMAIN_LIST_DELETED = "domain_list.deleted"
ENVIRONMENT_UPDATED = "environment.updated"
POLICY_UPDATED = "policy.updated"
SECRET_SET = "secret.set"  # noqa: S105 - an action name
SECRET_DELETED = "secret.deleted"  # noqa: S105 - an action name
CREDENTIAL_ADDED = "credential.added"
CREDENTIAL_REPLACED = "credential.replaced"
CREDENTIAL_DELETED = "credential.deleted"
CACHE_RESET = "environment.cache_reset"
SETUP_RUN = "environment.setup_run"
PR_CREATED = "pr.created"
PR_UPDATED = "pr.updated"  # a follow-up pushed to an open PR
TASK_CANCELLED = "task.cancelled"
EGRESS_APPROVED = "egress.approved"  # a refused host allowed for a running attempt
REPOSITORY_CONNECTED = "repository.connected"
REPOSITORY_DISCONNECTED = "repository.disconnected"
REPOSITORY_REGISTERED = "repository.registered"
REPOSITORY_REGISTRATION_REFUSED = "repository.registration_refused"
WEBHOOK_ADDED = "webhook.added"
WEBHOOK_REMOVED = "webhook.removed"
WEBHOOK_REDELIVERED = "webhook.redelivered"  # a failed delivery queued again by an admin

ALL = (
    MEMBER_INVITED,
    INVITE_REVOKED,
    MEMBER_JOINED,
    MEMBER_ROLE_CHANGED,
    MEMBER_REMOVED,
    DOMAIN_LIST_CREATED,
    DOMAIN_LIST_UPDATED,
    DOMAIN_LIST_DELETED,
    ENVIRONMENT_UPDATED,
    POLICY_UPDATED,
    SECRET_SET,
    SECRET_DELETED,
    CREDENTIAL_ADDED,
    CREDENTIAL_REPLACED,
    CREDENTIAL_DELETED,
    CACHE_RESET,
    SETUP_RUN,
    PR_CREATED,
    PR_UPDATED,
    TASK_CANCELLED,
    EGRESS_APPROVED,
    REPOSITORY_CONNECTED,
    REPOSITORY_DISCONNECTED,
    REPOSITORY_REGISTERED,
    REPOSITORY_REGISTRATION_REFUSED,
    WEBHOOK_ADDED,
    WEBHOOK_REMOVED,
    WEBHOOK_REDELIVERED,
)
