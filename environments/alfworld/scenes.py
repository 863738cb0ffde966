"""Room tables for generated ALFWorld games: which receptacles and objects each scene kind has.

ALFWorld's games come from AI2-THOR floor plans of four kinds (kitchen 1-30, living room 201-230,
bedroom 301-330, bathroom 401-430). We keep the same numbering and the same train/test split of
floor plans (``alfworld.gen.constants.TRAIN_SCENE_NUMBERS``) and describe each kind by the receptacle
classes it holds (with count ranges) and the objects found there. Whether an object may sit in a
receptacle is decided by ALFWorld's own table ``VAL_RECEPTACLE_OBJECTS``, read at generation time.
"""

from __future__ import annotations

from typing import Literal

SceneKind = Literal["Kitchen", "LivingRoom", "Bedroom", "Bathroom"]
SCENE_KINDS: tuple[SceneKind, ...] = ("Kitchen", "LivingRoom", "Bedroom", "Bathroom")

#: Floor-plan numbers of each kind, as in ALFWorld (``constants.SCENE_TYPE``).
FLOOR_PLANS: dict[SceneKind, range] = {
    "Kitchen": range(1, 31),
    "LivingRoom": range(201, 231),
    "Bedroom": range(301, 331),
    "Bathroom": range(401, 431),
}

#: Receptacle classes per kind: (min count, max count). A floor plan draws its counts once.
RECEPTACLES: dict[SceneKind, dict[str, tuple[int, int]]] = {
    "Kitchen": {
        "Cabinet": (3, 10),
        "CounterTop": (1, 3),
        "Drawer": (1, 6),
        "Fridge": (1, 1),
        "Microwave": (1, 1),
        "SinkBasin": (1, 1),
        "StoveBurner": (2, 4),
        "CoffeeMachine": (1, 1),
        "GarbageCan": (1, 1),
        "Toaster": (1, 1),
        "DiningTable": (0, 1),
        "Shelf": (0, 3),
    },
    "LivingRoom": {
        "ArmChair": (0, 2),
        "CoffeeTable": (1, 2),
        "Sofa": (1, 1),
        "SideTable": (1, 3),
        "Drawer": (0, 4),
        "Cabinet": (0, 4),
        "Shelf": (0, 4),
        "TVStand": (0, 1),
        "GarbageCan": (1, 1),
        "DiningTable": (0, 1),
        "Ottoman": (0, 1),
        "Dresser": (0, 1),
    },
    "Bedroom": {
        "Bed": (1, 1),
        "Desk": (0, 1),
        "SideTable": (1, 2),
        "Drawer": (2, 6),
        "Dresser": (0, 1),
        "Shelf": (0, 4),
        "GarbageCan": (1, 1),
        "LaundryHamper": (0, 1),
        "ArmChair": (0, 1),
        "Safe": (0, 1),
    },
    "Bathroom": {
        "Toilet": (1, 1),
        "SinkBasin": (1, 2),
        "BathtubBasin": (0, 1),
        "CounterTop": (1, 1),
        "Cabinet": (1, 4),
        "Drawer": (0, 4),
        "TowelHolder": (1, 1),
        "HandTowelHolder": (0, 2),
        "ToiletPaperHanger": (1, 1),
        "GarbageCan": (1, 1),
        "Shelf": (0, 2),
    },
}

#: Pickupable objects found in each kind of room (ALFWorld class names).
OBJECTS: dict[SceneKind, tuple[str, ...]] = {
    "Kitchen": (
        "Apple", "Bowl", "Bread", "ButterKnife", "Cup", "DishSponge", "Egg", "Fork", "Kettle", "Knife",
        "Ladle", "Lettuce", "Mug", "Pan", "PepperShaker", "Plate", "Pot", "Potato", "SaltShaker",
        "SoapBottle", "Spatula", "Spoon", "Tomato", "WineBottle",
    ),
    "LivingRoom": (
        "Book", "Bowl", "Box", "CellPhone", "CreditCard", "KeyChain", "Laptop", "Newspaper", "Pillow",
        "Plate", "RemoteControl", "Statue", "Vase", "Watch",
    ),
    "Bedroom": (
        "AlarmClock", "BaseballBat", "BasketBall", "Book", "Bowl", "Box", "CD", "CellPhone", "Cloth",
        "CreditCard", "KeyChain", "Laptop", "Mug", "Pen", "Pencil", "Pillow", "TeddyBear", "TennisRacket",
    ),
    "Bathroom": (
        "Candle", "Cloth", "DishSponge", "HandTowel", "Plunger", "ScrubBrush", "SoapBar", "SoapBottle",
        "SprayBottle", "TissueBox", "ToiletPaper", "Towel",
    ),
}  # fmt: skip

#: Toggleable light sources for ``look_at_obj_in_light`` and the receptacles they stand on.
LAMPS: dict[str, tuple[str, ...]] = {"DeskLamp": ("Desk", "SideTable", "Dresser")}

#: Scene kinds in which each task type is generated (ALFWorld's ``constants.GOALS_VALID``).
TASK_SCENES: dict[str, tuple[SceneKind, ...]] = {
    "pick_and_place_simple": ("Kitchen", "LivingRoom", "Bathroom", "Bedroom"),
    "pick_two_obj_and_place": ("Kitchen", "LivingRoom", "Bathroom", "Bedroom"),
    "look_at_obj_in_light": ("LivingRoom", "Bedroom"),
    "pick_clean_then_place_in_recep": ("Kitchen", "Bathroom"),
    "pick_heat_then_place_in_recep": ("Kitchen",),
    "pick_cool_then_place_in_recep": ("Kitchen",),
}

#: The six ALFWorld task types, in ALFWorld's numbering order (``alfred_tw_env.TASK_TYPES``).
TASK_TYPES: tuple[str, ...] = (
    "pick_and_place_simple",
    "look_at_obj_in_light",
    "pick_clean_then_place_in_recep",
    "pick_heat_then_place_in_recep",
    "pick_cool_then_place_in_recep",
    "pick_two_obj_and_place",
)

#: The appliance each state-changing task needs, and ALFWorld's table of objects it acts on.
TASK_APPLIANCE: dict[str, tuple[str, str]] = {
    "pick_clean_then_place_in_recep": ("SinkBasin", "Cleanable"),
    "pick_heat_then_place_in_recep": ("Microwave", "Heatable"),
    "pick_cool_then_place_in_recep": ("Fridge", "Coolable"),
}
