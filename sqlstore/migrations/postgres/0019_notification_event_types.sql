-- Event types switched off for notification installation-wide (issue 13,
-- item 5; seed 003 "System > Event notifications"). The Main administrator
-- chooses them; a type listed here cannot be subscribed to and is not
-- delivered. Absent means enabled, so a type added to the catalog later
-- is on until switched off.
CREATE TABLE notification_disabled_types (
    event_type TEXT PRIMARY KEY
);
