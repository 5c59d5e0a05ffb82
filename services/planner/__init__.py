"""The planner service: compiles project plans into schedules."""
