"""``agentfleet simulate``: a day or a week of agent traffic replayed through the fleet as
the program declares it, second by second, under the stack's own autoscaling and two
strategies to compare it with."""
