"""``snapmigrate drill``: disaster-recovery rehearsals -- restore a recovery point,
measure RTO and RPO from the real run, check the data, keep the evidence, clean up."""
