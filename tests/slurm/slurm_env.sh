# A single-node Slurm for the tests, from Debian's slurm-wlm: started in the background
# from a temporary config, stopped by pid. Source it; then slurm_start DIR and slurm_stop.
# Needs root (slurmd runs jobs as their user) and free ports 6817/6818.
# shellcheck shell=bash

slurm_start() {
    local dir="$1" node
    node="$(hostname -s)"
    mkdir -p "$dir"/{state,spool,log}
    chmod 755 "$dir"
    export SLURM_CONF="$dir/slurm.conf"
    cat >"$SLURM_CONF" <<CONF
ClusterName=bptest
SlurmctldHost=$node(127.0.0.1)
AuthType=auth/none
CredType=cred/none
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
JobAcctGatherType=jobacct_gather/none
MailProg=/bin/true
DependencyParameters=kill_invalid_depend
SchedulerParameters=batch_sched_delay=0
ReturnToService=2
MaxArraySize=10000
NodeName=$node NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=test Nodes=$node Default=YES MaxTime=INFINITE State=UP
CONF
    slurmctld -D -f "$SLURM_CONF" >"$dir/log/slurmctld.out" 2>&1 &
    SLURMCTLD_PID=$!
    slurmd -D -f "$SLURM_CONF" >"$dir/log/slurmd.out" 2>&1 &
    SLURMD_PID=$!
    # Up when the node is idle.
    local i
    for i in $(seq 1 100); do
        if sinfo -h -o '%t' 2>/dev/null | grep -q idle; then return 0; fi
        sleep 0.2
    done
    echo "slurm did not come up; logs in $dir/log:" >&2
    tail -n 20 "$dir"/log/* >&2 || true
    return 1
}

slurm_stop() {
    [ -n "${SLURMD_PID:-}" ] && kill "$SLURMD_PID" 2>/dev/null
    [ -n "${SLURMCTLD_PID:-}" ] && kill "$SLURMCTLD_PID" 2>/dev/null
    wait "${SLURMD_PID:-}" "${SLURMCTLD_PID:-}" 2>/dev/null || true
    SLURMD_PID= SLURMCTLD_PID=
}

# slurm_wait ID...: until none of these jobs is pending or running (at most 120 s).
slurm_wait() {
    local ids i
    ids="$(IFS=,; echo "$*")"
    for i in $(seq 1 600); do
        if [ -z "$(squeue -h -j "$ids" 2>/dev/null)" ]; then return 0; fi
        sleep 0.2
    done
    echo "jobs $ids still queued after 120 s:" >&2
    squeue -j "$ids" >&2 || true
    return 1
}
