"""One project's lifecycle (项目全周期): its models, the pure rules (stages, deadlines, 序时,
lights, validation), the decisions of `LifecycleBook`, the notices it sends, the reference data
and the sample programme (`programme`), the service that starts projects and sends them input,
and the read model's queries.
"""
