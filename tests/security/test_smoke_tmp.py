def test_seed(world, attacks):
    r = world.aws.get_order("1001", api_key=world.b_key)
    attacks.check("smoke", r)
    print(world.ids, world.b_ids, world.a_token[:20])
