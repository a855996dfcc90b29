"""What the API shows of runs (one-off commands, scheduled jobs' runs) and scheduled jobs, and the
bodies it accepts. No decisions and no queries here."""
from __future__ import annotations

from rest_framework import serializers

from sites.run_models import Run, ScheduledJob
from sites.validation import MAX_PROCFILE_COMMAND


class RunSerializer(serializers.ModelSerializer):
    # Plain text, not enums: the schema's enum names would collide with a deployment's `state` and `trigger`.
    state = serializers.CharField(read_only=True, help_text="queued, running, succeeded, failed, timed_out or skipped.")
    trigger = serializers.CharField(read_only=True, help_text="api, portal or schedule.")
    job = serializers.CharField(source="job.name", read_only=True, allow_null=True, default=None)
    release = serializers.CharField(source="release.label", read_only=True, allow_null=True, default=None)
    created_by = serializers.EmailField(source="created_by.email", read_only=True, allow_null=True, default=None)

    class Meta:
        model = Run
        fields = ["id", "command", "trigger", "job", "release", "state", "exit_code", "error", "timeout_seconds",
                  "created_by", "created_at", "started_at", "finished_at"]


class RunDetailSerializer(RunSerializer):
    output = serializers.CharField(read_only=True, help_text="What it printed (the whole of it once it finished).")

    class Meta(RunSerializer.Meta):
        fields = RunSerializer.Meta.fields + ["output"]


class RunCreateSerializer(serializers.Serializer):
    command = serializers.CharField(max_length=MAX_PROCFILE_COMMAND * 2, trim_whitespace=False,
                                    help_text="Run as `bash -c <command>` in a container of the current release.")
    attach = serializers.BooleanField(
        default=True, help_text="Stream the output back as it comes (text/plain), ending with the outcome; "
        "false: answer at once with the run, and read its output later.")


class JobSerializer(serializers.ModelSerializer):
    last_run = RunSerializer(read_only=True, allow_null=True, help_text="The job's latest run, if any.")

    class Meta:
        model = ScheduledJob
        fields = ["name", "schedule", "command", "source", "next_run_at", "last_run", "created_at", "updated_at"]


class JobCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    schedule = serializers.CharField(max_length=200, help_text="Cron, in UTC: minute hour day-of-month month "
                                     "day-of-week (like `*/15 * * * *`), or @hourly, @daily, @weekly, @monthly.")
    command = serializers.CharField(max_length=MAX_PROCFILE_COMMAND * 2, trim_whitespace=False)


class JobUpdateSerializer(serializers.Serializer):
    schedule = serializers.CharField(max_length=200, required=False)
    command = serializers.CharField(max_length=MAX_PROCFILE_COMMAND * 2, required=False, trim_whitespace=False)
