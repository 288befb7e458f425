-- Schedules (EventBridge Scheduler's API) and schedule groups get their own
-- tables; until now they lived in the tags table under the non-ARN keys
-- `statecraft:schedules/<group>` and `statecraft:schedule-groups`, moved
-- here. A schedule's document is the server's JSON, opaque to the store.
CREATE TABLE schedule_groups (
    name             TEXT PRIMARY KEY,
    creation_date_ms INTEGER NOT NULL
);
CREATE TABLE schedules (
    group_name TEXT NOT NULL,
    name       TEXT NOT NULL,
    document   TEXT NOT NULL,
    PRIMARY KEY (group_name, name)
) WITHOUT ROWID;
INSERT INTO schedule_groups (name, creation_date_ms)
    SELECT key, CAST(value AS INTEGER) FROM tags
    WHERE resource_arn = 'statecraft:schedule-groups';
INSERT INTO schedules (group_name, name, document)
    SELECT substr(resource_arn, 22), key, value FROM tags
    WHERE substr(resource_arn, 1, 21) = 'statecraft:schedules/';
DELETE FROM tags
    WHERE resource_arn = 'statecraft:schedule-groups'
       OR substr(resource_arn, 1, 21) = 'statecraft:schedules/';
