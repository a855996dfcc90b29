from django.apps import AppConfig


class SitesConfig(AppConfig):
    name = "sites"

    def ready(self) -> None:
        # Here, not at the top: these import models, which Django allows only once every app is loaded.
        from hosting.reconcile import (
            agent_starting, host_reconciled, instance_address_changed, instance_lost, instance_stopped,
            instances_unwanted,
        )
        from hosting.fleet import hosts_down  # (models, as above)
        from sites import failover, formation, healing, processes, recovery, runs  # (models, as above)

        instance_stopped.connect(healing.withdraw_stopped_instance, dispatch_uid="sites-withdraw-stopped-instance")
        instance_address_changed.connect(healing.follow_moved_instance, dispatch_uid="sites-follow-moved-instance")
        instance_lost.connect(healing.replace_lost_instance, dispatch_uid="sites-replace-lost-instance")
        instances_unwanted.connect(healing.unwanted_instances, dispatch_uid="sites-unwanted-instances")
        hosts_down.connect(failover.fail_over_hosts, dispatch_uid="sites-fail-over-hosts")
        agent_starting.connect(recovery.fail_interrupted_deployments_on_start, dispatch_uid="sites-fail-interrupted")
        agent_starting.connect(runs.stop_interrupted_runs, dispatch_uid="sites-stop-interrupted-runs")
        hosts_down.connect(runs.fail_runs_on_down_hosts, dispatch_uid="sites-fail-runs-on-down-hosts")
        # Process types (workers): reconcile removes the ones no longer wanted, then starts the missing ones.
        instances_unwanted.connect(formation.unwanted_processes, dispatch_uid="sites-unwanted-processes")
        host_reconciled.connect(processes.start_missing_after_reconcile, dispatch_uid="sites-start-missing-processes")
