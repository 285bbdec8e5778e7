"""Build the demo's sample data: bilingual, every bucket present, written for this project.

Run ``python tools/build_sample_data.py`` to (re)write ``polyalign_lf/pipeline/sample_data/polyalign_sample.jsonl``
(a development tool: it is not part of the installed package). The output is deterministic (no randomness beyond a fixed
seed), so the committed file is exactly what this script produces; a test checks that.

Every sentence below was written for polyalign-lf (plain everyday facts and advice on twelve topics,
in English and Chinese); nothing is copied from a public dataset.

Layout: the ``custom`` formatter's rows (``polyalign prepare custom --source all=FILE``)::

    {id, question, answer, context?, history?: [{role, text}], language, track, family, style_bucket, split, group}

Buckets: {en, zh} × {single|assistant, single|qa, multi|dialogue, multi|qa} × {short, medium, long, xlong}
(32 buckets) with 12 rows each: 8 train, 2 val, 2 test. Each answer is assembled from a topic's
sentences until its length falls in the intended bin *as the data pipeline measures it*
(:func:`polyalign_lf.data.normalize.length_bin`: English words, Chinese characters, per-language
thresholds), so the bucket a row is meant for is the bucket it gets.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

SAMPLE_FILE = (
    Path(__file__).resolve().parents[1] / "polyalign_lf" / "pipeline" / "sample_data" / "polyalign_sample.jsonl"
)
SEED = 20240611
ROWS_PER_BUCKET = 12
SPLIT_OF_INDEX = ["train"] * 8 + ["val"] * 2 + ["test"] * 2
BINS = ("short", "medium", "long", "xlong")
# (track, family, style_bucket) cells present in both languages.
CELLS = (
    ("single", "assistant", "assistant_like"),
    ("single", "qa", "qa_search"),
    ("multi", "dialogue", "open_chat"),
    ("multi", "qa", "conversational_qa"),
)

# --- topics: a name, a short fact with its passage, and explanatory sentences -------------------------
# Each topic: en/zh name, a factual question with a short answer found in the passage, the passage,
# and eight explanatory sentences per language.
TOPICS = [
    {
        "en": "the water cycle",
        "zh": "水循环",
        "fact_q_en": "What drives the water cycle?",
        "fact_a_en": "the heat of the sun",
        "passage_en": "Water moves between the oceans, the air and the land in a loop called the water cycle. The heat of the sun drives it by evaporating water from seas and lakes. The vapour cools as it rises, forms clouds and falls again as rain or snow.",
        "fact_q_zh": "推动水循环的主要能量来自哪里？",
        "fact_a_zh": "太阳的热量",
        "passage_zh": "水在海洋、大气和陆地之间不断循环流动，这个过程叫作水循环。推动它的主要能量是太阳的热量，海水和湖水受热蒸发成水汽。水汽上升后遇冷凝结成云，再以雨或雪的形式落回地面。",
        "en_s": [
            "The sun warms the surface of oceans and lakes, and some of that water turns into vapour.",
            "Plants also release water through their leaves, which adds more moisture to the air.",
            "As the warm air rises it cools down, and the vapour condenses into tiny droplets that form clouds.",
            "When the droplets grow heavy enough, they fall back to the ground as rain, snow or hail.",
            "Some of that water soaks into the soil and slowly refills the groundwater under our feet.",
            "The rest runs off into streams and rivers that eventually carry it back to the sea.",
            "The whole loop has no real beginning or end, which is why the amount of water on Earth stays almost constant.",
            "Changes in temperature can speed the cycle up, so a warmer climate usually means heavier downpours in some places.",
        ],
        "zh_s": [
            "太阳把海洋和湖泊表面晒热，一部分水就变成了水汽。",
            "植物的叶子也会蒸腾出水分，让空气变得更加湿润。",
            "暖空气上升以后逐渐变冷，水汽凝结成小水滴，聚在一起就成了云。",
            "小水滴越聚越大，最后变成雨、雪或者冰雹落到地面。",
            "一部分雨水渗进土壤，慢慢补充地下水。",
            "剩下的水流进小溪和江河，最终又回到大海。",
            "这个循环没有真正的起点和终点，所以地球上的水量几乎保持不变。",
            "气温升高会让循环加快，因此气候变暖常常带来更强的降雨。",
        ],
    },
    {
        "en": "photosynthesis",
        "zh": "光合作用",
        "fact_q_en": "Which gas do plants take in during photosynthesis?",
        "fact_a_en": "carbon dioxide",
        "passage_en": "Green plants make their own food through photosynthesis. Inside their leaves, chlorophyll captures light and uses its energy to combine carbon dioxide from the air with water from the roots. The process produces sugar for the plant and releases oxygen.",
        "fact_q_zh": "植物进行光合作用时吸收哪种气体？",
        "fact_a_zh": "二氧化碳",
        "passage_zh": "绿色植物通过光合作用为自己制造养分。叶片里的叶绿素吸收光能，把空气中的二氧化碳和根部吸上来的水结合起来。这个过程产生糖分供植物生长，同时释放出氧气。",
        "en_s": [
            "Leaves are green because they are full of chlorophyll, the pigment that absorbs light.",
            "The plant pulls water up from its roots and takes carbon dioxide in through small pores in its leaves.",
            "Light energy is used to split water and build sugar from the carbon in the air.",
            "Oxygen is a by-product of that reaction, and it leaves the plant through the same pores.",
            "The sugar is either burned for energy right away or stored as starch for later.",
            "Without enough light, a plant slows down and its leaves can turn pale or yellow.",
            "Almost every food chain on land starts with this process, so it quietly feeds most living things.",
            "Farmers in greenhouses sometimes add extra carbon dioxide to help their crops grow faster.",
        ],
        "zh_s": [
            "叶子之所以是绿色的，是因为里面含有大量能吸收光的叶绿素。",
            "植物从根部吸水，再通过叶片上的小气孔吸进二氧化碳。",
            "光能被用来分解水，并把空气中的碳合成为糖。",
            "反应中产生的氧气会从同样的小气孔排出去。",
            "合成的糖有的马上被用来提供能量，有的以淀粉的形式储存起来。",
            "光照不足时，植物生长会变慢，叶子也可能发黄。",
            "陆地上几乎所有的食物链都从这个过程开始，它默默养活了大多数生物。",
            "温室种植有时会额外补充二氧化碳，让作物长得更快。",
        ],
    },
    {
        "en": "baking bread at home",
        "zh": "在家烤面包",
        "fact_q_en": "What makes bread dough rise?",
        "fact_a_en": "yeast",
        "passage_en": "Simple bread needs only flour, water, salt and yeast. The yeast feeds on the sugars in the flour and releases carbon dioxide, which makes the dough rise. Kneading builds gluten, the stretchy network that traps those gas bubbles.",
        "fact_q_zh": "是什么让面团发起来的？",
        "fact_a_zh": "酵母",
        "passage_zh": "最简单的面包只需要面粉、水、盐和酵母。酵母分解面粉里的糖，释放出二氧化碳，让面团膨胀起来。揉面可以形成面筋，这种有弹性的网络能把气泡留在面团里。",
        "en_s": [
            "Start with strong flour, because its higher protein content gives the loaf a better structure.",
            "Mix the flour with lukewarm water, a little salt and the yeast until no dry bits remain.",
            "Knead the dough for about ten minutes until it feels smooth and springs back when pressed.",
            "Let it rise in a warm place until it has roughly doubled in size.",
            "Shape the loaf gently so you keep some of the air that built up during the first rise.",
            "A second, shorter rise gives the bread a lighter crumb.",
            "Bake it in a hot oven and put a tray of water inside to create steam for a crisp crust.",
            "Wait until the loaf has cooled before cutting it, otherwise the inside will feel gummy.",
        ],
        "zh_s": [
            "最好选用高筋面粉，因为蛋白质含量高，烤出来的面包更有嚼劲。",
            "把面粉和温水、少量盐以及酵母混合，直到看不到干粉为止。",
            "揉面大约十分钟，直到面团光滑，用手按下去会慢慢回弹。",
            "把面团放在温暖的地方发酵，等它长到原来的两倍大。",
            "整形的时候动作要轻，尽量保留第一次发酵产生的气体。",
            "再进行一次时间较短的发酵，面包的组织会更松软。",
            "烤箱要提前预热，在里面放一盘水制造蒸汽，表皮会更酥脆。",
            "面包完全放凉以后再切，否则里面会显得黏糊糊的。",
        ],
    },
    {
        "en": "bicycle maintenance",
        "zh": "自行车保养",
        "fact_q_en": "How often should bicycle tyre pressure be checked?",
        "fact_a_en": "about once a week",
        "passage_en": "Regular care keeps a bicycle safe and pleasant to ride. Tyres slowly lose air, so their pressure should be checked about once a week. A clean, lightly oiled chain shifts smoothly and lasts much longer than a dirty one.",
        "fact_q_zh": "自行车的胎压大概多久检查一次？",
        "fact_a_zh": "大约每周一次",
        "passage_zh": "经常保养能让自行车骑起来既安全又舒服。轮胎会慢慢漏气，所以大约每周检查一次胎压。干净并且稍微上过油的链条换挡顺畅，寿命也比脏链条长得多。",
        "en_s": [
            "Check the tyre pressure before longer rides, using the range printed on the side of the tyre.",
            "Wipe the chain with a rag and add a few drops of oil, then wipe off the extra.",
            "Squeeze both brake levers to make sure they stop the wheels well before the lever touches the handlebar.",
            "Look at the brake pads from time to time and replace them when the grooves are worn away.",
            "Spin each wheel and watch whether it wobbles, because a bent rim can rub against the brakes.",
            "Listen for clicking or grinding noises, which often point to a loose part or a dry bearing.",
            "Keep the bike out of the rain when you can, since water slowly rusts the chain and the bolts.",
            "A shop service once a year catches problems that are hard to spot at home.",
        ],
        "zh_s": [
            "骑远路之前先检查胎压，数值按照轮胎侧面标注的范围来打。",
            "用抹布擦干净链条，滴几滴润滑油，再把多余的油擦掉。",
            "捏一捏两个刹车把，确认在碰到车把之前就能把车轮刹住。",
            "时常看看刹车皮，花纹磨平了就该换新的。",
            "转一转车轮，看看有没有左右摆动，圈变形了会蹭到刹车。",
            "留意咔哒声或者摩擦声，这通常说明有零件松了或者轴承缺油。",
            "尽量别让车子淋雨，雨水会慢慢让链条和螺丝生锈。",
            "每年去车店做一次全面保养，可以发现在家不容易看出的问题。",
        ],
    },
    {
        "en": "brewing tea",
        "zh": "泡茶",
        "fact_q_en": "What water temperature suits green tea?",
        "fact_a_en": "around 80 degrees Celsius",
        "passage_en": "Different teas like different water. Black tea is usually brewed with water that has just boiled, while green tea tastes better with water around 80 degrees Celsius. Water that is too hot makes green tea bitter.",
        "fact_q_zh": "泡绿茶用多少度的水比较合适？",
        "fact_a_zh": "八十度左右",
        "passage_zh": "不同的茶适合不同的水温。红茶一般用刚烧开的水冲泡，绿茶则用八十度左右的水味道更好。水太烫会让绿茶变苦。",
        "en_s": [
            "Warm the pot or cup first so the water does not cool down too quickly.",
            "Use about one teaspoon of loose leaves for each cup of water.",
            "Green and white teas prefer cooler water, while black tea can take water straight off the boil.",
            "Steep green tea for two or three minutes and black tea for three to five.",
            "If the tea tastes harsh, shorten the steeping time before you reduce the amount of leaves.",
            "Good leaves can usually be brewed two or three times, and each cup tastes a little different.",
            "Soft, fresh water brings out more flavour than water that has been boiled again and again.",
            "Store the leaves in a dry, airtight tin away from light and strong smells.",
        ],
        "zh_s": [
            "先用热水温一下茶壶或茶杯，这样泡茶的水不会凉得太快。",
            "一杯水大约放一小勺茶叶就够了。",
            "绿茶和白茶适合温度低一些的水，红茶可以直接用开水。",
            "绿茶泡两三分钟，红茶泡三到五分钟。",
            "如果喝起来发涩，先缩短浸泡时间，再考虑减少茶叶。",
            "好茶通常可以泡两三次，每一泡的味道都不太一样。",
            "新鲜的软水比反复烧开的水更能泡出茶香。",
            "茶叶要放在干燥密封的罐子里，避光，也别靠近气味重的东西。",
        ],
    },
    {
        "en": "public libraries",
        "zh": "公共图书馆",
        "fact_q_en": "What do you need to borrow books from a public library?",
        "fact_a_en": "a library card",
        "passage_en": "Public libraries lend books, films and music for free. To borrow items you need a library card, which most libraries issue to local residents at no cost. Many libraries also offer free internet access, study rooms and reading events for children.",
        "fact_q_zh": "在公共图书馆借书需要什么？",
        "fact_a_zh": "一张借书证",
        "passage_zh": "公共图书馆免费出借图书、电影和音乐。借东西需要一张借书证，大多数图书馆会免费给本地居民办理。很多图书馆还提供免费上网、自习室和儿童阅读活动。",
        "en_s": [
            "Most libraries let you search their catalogue online and reserve a book before you go.",
            "If a title is out on loan, you can usually join a waiting list and get a message when it returns.",
            "Many libraries now lend e-books and audiobooks that you can read on a phone.",
            "Librarians are happy to help you find sources, even for questions that seem small.",
            "Quiet rooms and long opening hours make libraries a good place to study.",
            "Children's sections often run story times that help young kids enjoy reading.",
            "Returning items late may cost a small fee, although some libraries have dropped fines entirely.",
            "Libraries also host talks, language clubs and computer classes for adults.",
        ],
        "zh_s": [
            "大多数图书馆都可以在网上查询馆藏，去之前先预约想借的书。",
            "如果书被借走了，一般可以登记排队，书还回来时会收到通知。",
            "现在很多图书馆也出借电子书和有声书，用手机就能看。",
            "图书馆员很乐意帮你找资料，哪怕问题看起来很小。",
            "安静的阅览室和较长的开放时间让图书馆很适合学习。",
            "少儿区经常举办讲故事活动，帮助小朋友喜欢上阅读。",
            "逾期还书可能要交一点滞纳金，不过有些图书馆已经取消了罚款。",
            "图书馆还会为成年人举办讲座、语言角和电脑课程。",
        ],
    },
    {
        "en": "getting good sleep",
        "zh": "睡个好觉",
        "fact_q_en": "How many hours of sleep do most adults need?",
        "fact_a_en": "seven to nine hours",
        "passage_en": "Sleep lets the body recover and helps the brain store memories. Most adults need seven to nine hours each night. Going to bed and getting up at the same time every day makes it easier to fall asleep.",
        "fact_q_zh": "大多数成年人每晚需要睡几个小时？",
        "fact_a_zh": "七到九个小时",
        "passage_zh": "睡眠让身体得到恢复，也帮助大脑巩固记忆。大多数成年人每晚需要七到九个小时的睡眠。每天固定时间睡觉和起床，更容易入睡。",
        "en_s": [
            "Try to go to bed and wake up at the same time, even on weekends.",
            "Keep the bedroom dark, quiet and a little cool.",
            "Bright screens late in the evening can make it harder for your body to feel sleepy.",
            "Coffee and strong tea stay in the body for hours, so it helps to avoid them in the afternoon.",
            "A short walk during the day often improves sleep at night.",
            "If you cannot fall asleep after twenty minutes, get up and do something calm until you feel tired.",
            "Heavy meals right before bed can keep you awake with an upset stomach.",
            "Long-lasting trouble with sleep is worth discussing with a doctor.",
        ],
        "zh_s": [
            "尽量每天同一时间睡觉、同一时间起床，周末也一样。",
            "卧室要保持黑暗、安静，温度稍微凉一点。",
            "晚上长时间看明亮的屏幕，会让身体迟迟没有睡意。",
            "咖啡和浓茶的作用会持续好几个小时，下午最好少喝。",
            "白天散散步，晚上往往睡得更好。",
            "躺了二十分钟还睡不着，就起来做点安静的事，等困了再睡。",
            "睡前吃得太饱，肠胃不舒服也会影响睡眠。",
            "如果长期睡不好，最好去看看医生。",
        ],
    },
    {
        "en": "volcanoes",
        "zh": "火山",
        "fact_q_en": "What is molten rock called once it reaches the surface?",
        "fact_a_en": "lava",
        "passage_en": "A volcano is an opening in the Earth's crust through which molten rock escapes. Underground the molten rock is called magma; once it reaches the surface it is called lava. Eruptions can also throw out ash and gas high into the sky.",
        "fact_q_zh": "熔岩流到地表以后叫什么？",
        "fact_a_zh": "熔岩",
        "passage_zh": "火山是地壳上的一个开口，地下熔化的岩石从这里喷出来。熔化的岩石在地下叫岩浆，流到地表以后叫熔岩。火山喷发时还会把火山灰和气体喷到高空。",
        "en_s": [
            "Deep underground, heat and pressure melt rock into a thick liquid called magma.",
            "Magma is lighter than the solid rock around it, so it slowly rises toward the surface.",
            "When gas builds up inside the magma, the pressure can cause a sudden eruption.",
            "Some volcanoes release runny lava that flows for kilometres, while others explode violently.",
            "Volcanic ash can travel far and may ground aeroplanes for days.",
            "Over time, weathered volcanic rock turns into very fertile soil.",
            "Scientists watch small earthquakes and changes in gas to predict when a volcano might erupt.",
            "Many islands, including Hawaii and Iceland, were built by volcanic activity.",
        ],
        "zh_s": [
            "在地下深处，高温和高压把岩石熔化成黏稠的岩浆。",
            "岩浆比周围的固体岩石轻，所以会慢慢往上升。",
            "岩浆里的气体越积越多，压力过大时就会突然喷发。",
            "有的火山流出稀薄的熔岩，能流好几公里，有的则会猛烈爆炸。",
            "火山灰可以飘得很远，有时会让飞机停飞好几天。",
            "火山岩经过长时间风化，会变成非常肥沃的土壤。",
            "科学家通过监测小地震和气体变化来预测火山什么时候可能喷发。",
            "包括夏威夷和冰岛在内，很多岛屿都是火山活动形成的。",
        ],
    },
    {
        "en": "recycling",
        "zh": "垃圾回收",
        "fact_q_en": "Why should containers be rinsed before recycling?",
        "fact_a_en": "food residue can spoil a whole batch",
        "passage_en": "Recycling turns used materials into new products and saves energy. Paper, glass, metal cans and many plastics can be recycled. Containers should be rinsed first, because food residue can spoil a whole batch of otherwise clean material.",
        "fact_q_zh": "为什么回收前要把容器冲洗干净？",
        "fact_a_zh": "食物残渣会弄脏一整批材料",
        "passage_zh": "回收能把用过的材料变成新产品，还能节约能源。纸张、玻璃、金属罐和很多塑料都可以回收。容器要先冲洗干净，因为食物残渣会弄脏一整批本来干净的材料。",
        "en_s": [
            "Check the local rules, because what can be recycled differs from one town to the next.",
            "Rinse bottles and cans quickly so leftover food does not contaminate other materials.",
            "Flatten cardboard boxes to save space in the bin and on the truck.",
            "Plastic bags often jam sorting machines, so many places collect them separately.",
            "Batteries and old electronics contain harmful substances and need special drop-off points.",
            "Making a can from recycled aluminium uses far less energy than making it from raw ore.",
            "Reducing and reusing come before recycling, since they avoid waste in the first place.",
            "Putting the wrong items in the recycling bin can cost more than it saves.",
        ],
        "zh_s": [
            "先了解当地的规定，因为各个城市可回收的东西不一样。",
            "把瓶子和罐子简单冲一下，免得剩下的食物弄脏其他材料。",
            "纸箱压扁再放，可以节省垃圾桶和回收车的空间。",
            "塑料袋容易卡住分拣机器，很多地方会单独回收。",
            "电池和旧电器含有有害物质，要送到专门的回收点。",
            "用回收铝做易拉罐，比用矿石生产节省得多的能源。",
            "少用和重复使用比回收更重要，因为它们从源头上减少了垃圾。",
            "把不该回收的东西扔进回收桶，反而会增加处理成本。",
        ],
    },
    {
        "en": "learning a new language",
        "zh": "学习一门外语",
        "fact_q_en": "What helps most when learning a new language?",
        "fact_a_en": "a little practice every day",
        "passage_en": "Adults can learn new languages well, although it takes time. Research on memory suggests that a little practice every day works better than long sessions once a week. Speaking with real people early on builds confidence.",
        "fact_q_zh": "学外语最有帮助的是什么？",
        "fact_a_zh": "每天坚持练一点",
        "passage_zh": "成年人也能把外语学好，只是需要时间。关于记忆的研究表明，每天坚持练一点，比每周集中学很长时间效果更好。尽早和真人对话能建立信心。",
        "en_s": [
            "Short daily practice beats a long session once a week, because memory needs repetition.",
            "Learn the most common words first, since a few hundred of them cover most everyday talk.",
            "Listen to the language while you cook or walk, even if you only catch some of it.",
            "Speak from the first week, even if you make many mistakes.",
            "Flash cards with spaced repetition help new words stick for longer.",
            "Reading simple stories shows how words work together in real sentences.",
            "Find a partner or a group, because conversation keeps you motivated.",
            "Expect slow periods, and remember that progress often shows up all at once after a plateau.",
        ],
        "zh_s": [
            "每天练一会儿比每周集中学很久有效，因为记忆需要反复。",
            "先学最常用的词，几百个常用词就能覆盖大部分日常对话。",
            "做饭或散步的时候听听外语，哪怕只能听懂一部分。",
            "从第一周就开口说，犯错也没关系。",
            "用间隔重复的卡片背单词，记得更牢。",
            "读一些简单的故事，能看到词语在真实句子里怎么搭配。",
            "找个语伴或者加入学习小组，对话能让你保持动力。",
            "进步慢的阶段很正常，熬过瓶颈期，进步往往会一下子显现出来。",
        ],
    },
    {
        "en": "the Moon",
        "zh": "月球",
        "fact_q_en": "How long does the Moon take to orbit the Earth?",
        "fact_a_en": "about 27 days",
        "passage_en": "The Moon is Earth's only natural satellite. It takes about 27 days to orbit the Earth, and because it also turns once in that time, we always see the same side. Its gravity is the main cause of ocean tides.",
        "fact_q_zh": "月球绕地球转一圈大约需要多久？",
        "fact_a_zh": "大约二十七天",
        "passage_zh": "月球是地球唯一的天然卫星。它绕地球转一圈大约需要二十七天，而且在这段时间里正好自转一圈，所以我们总是看到同一面。月球的引力是海洋潮汐的主要原因。",
        "en_s": [
            "The Moon does not make its own light; it reflects light from the sun.",
            "Its phases change as we see more or less of its sunlit half during the month.",
            "We always see the same face because the Moon spins once for every trip around the Earth.",
            "The pull of the Moon's gravity raises the tides in the oceans.",
            "Its surface is covered in craters left by rocks that struck it over billions of years.",
            "There is almost no air on the Moon, so footprints left by astronauts can last for a very long time.",
            "A solar eclipse happens when the Moon passes exactly between the sun and the Earth.",
            "The Moon is slowly drifting away from the Earth by a few centimetres each year.",
        ],
        "zh_s": [
            "月球自己不发光，我们看到的是它反射的太阳光。",
            "一个月里我们看到它被照亮的部分时多时少，于是有了月相变化。",
            "月球每绕地球一圈也正好自转一圈，所以总是同一面朝着我们。",
            "月球的引力牵动海水，形成了潮汐。",
            "月面布满陨石坑，是几十亿年来岩石撞击留下的。",
            "月球上几乎没有空气，宇航员留下的脚印可以保存很久。",
            "月球正好运行到太阳和地球之间时，就会发生日食。",
            "月球正以每年几厘米的速度慢慢远离地球。",
        ],
    },
    {
        "en": "saving money",
        "zh": "存钱",
        "fact_q_en": "What is an emergency fund for?",
        "fact_a_en": "unexpected costs such as repairs or job loss",
        "passage_en": "Saving money starts with knowing where it goes. Many advisers suggest building an emergency fund first, which covers unexpected costs such as repairs or job loss. Automatic transfers on payday make saving a habit rather than a decision.",
        "fact_q_zh": "应急资金是用来做什么的？",
        "fact_a_zh": "应付维修或失业这类意外开销",
        "passage_zh": "存钱的第一步是弄清楚钱花到哪里去了。很多理财顾问建议先攒一笔应急资金，用来应付维修或失业这类意外开销。发工资当天自动转一部分钱到储蓄账户，能让存钱变成习惯而不是每次都要下决心。",
        "en_s": [
            "Write down what you spend for a month to see where the money actually goes.",
            "Set up an automatic transfer to savings on the day you get paid.",
            "Build an emergency fund before you start investing or paying extra on low-interest debts.",
            "Cancel subscriptions you have not used in the last few months.",
            "Cooking at home a few more nights a week can make a real difference.",
            "Wait a day before buying anything that was not on your list.",
            "Pay off expensive credit card debt first, since its interest grows quickly.",
            "Small amounts saved regularly add up more than occasional large deposits.",
        ],
        "zh_s": [
            "先把一个月的开销记下来，看看钱到底花在了哪里。",
            "发工资当天设置自动转账，把一部分钱存进储蓄账户。",
            "在投资或提前还低息贷款之前，先攒一笔应急资金。",
            "把最近几个月没用过的会员订阅取消掉。",
            "每周多在家做几顿饭，能省下不少钱。",
            "不在购物清单上的东西，先等一天再决定买不买。",
            "先还清利息高的信用卡欠款，因为利息涨得很快。",
            "每次存一点、坚持存，比偶尔存一大笔更管用。",
        ],
    },
]

# Generic elaborations that make long answers longer; {t} is the topic's name.
GENERIC_EN = [
    "A good way to think about {t} is to start from what you can see in everyday life.",
    "People often underestimate how much small details matter when it comes to {t}.",
    "If you are new to {t}, it helps to focus on one step at a time instead of everything at once.",
    "Many of the common mistakes with {t} come from rushing rather than from a lack of knowledge.",
    "It is worth remembering that advice about {t} depends a little on where you live and what you need.",
    "Friends who already know about {t} can save you a lot of trial and error.",
    "Reading one reliable source about {t} is better than skimming ten conflicting ones.",
    "Once the basics of {t} make sense, the finer points usually become much easier to follow.",
    "There is no single perfect method for {t}, so try a couple of approaches and keep what works.",
    "Taking a few notes as you learn about {t} makes it much easier to remember later.",
    "Most of what matters about {t} can be explained without any special vocabulary.",
    "Curiosity is the best guide here, so keep asking why things about {t} happen the way they do.",
    "In the end, a bit of patience goes a long way with {t}.",
    "Looking back after a few weeks, most people are surprised by how much they have learned about {t}.",
]
GENERIC_ZH = [
    "理解{t}，最好从日常生活中看得见的现象说起。",
    "说到{t}，很多人都低估了细节的重要性。",
    "刚接触{t}的话，一次专注一步，比一下子全都顾及要好。",
    "关于{t}的常见错误，多半是因为太着急，而不是因为不懂。",
    "关于{t}的建议，也要看你住在哪里、具体需要什么。",
    "身边懂{t}的朋友，能帮你少走很多弯路。",
    "认真读一份可靠的资料，比匆匆翻十份互相矛盾的资料更有用。",
    "把{t}的基础弄明白以后，更细的地方就容易理解多了。",
    "{t}没有唯一完美的方法，可以多试几种，留下适合自己的。",
    "了解{t}的时候顺手记点笔记，以后回想起来方便得多。",
    "{t}里真正重要的东西，大多不需要专业术语也能讲清楚。",
    "好奇心是最好的向导，多问问为什么会这样。",
    "说到底，在{t}这件事上，耐心总会有回报。",
    "过几个星期回头看，大多数人都会惊讶自己对{t}已经了解了这么多。",
]

# Question templates per cell; {t} topic name. Index k (0..11) picks the template round-robin.
ASSISTANT_Q_EN = [
    "Can you explain {t} to me in simple terms?",
    "Give me some practical advice about {t}.",
    "Write a short note for a friend about {t}.",
    "What should a beginner know about {t}?",
    "Summarise the key points of {t}.",
    "I keep hearing about {t}. What is it really about?",
]
ASSISTANT_Q_ZH = [
    "能用简单的话给我讲讲{t}吗？",
    "关于{t}，给我一些实用的建议吧。",
    "帮我写一段给朋友的话，介绍一下{t}。",
    "新手需要了解{t}的哪些方面？",
    "概括一下{t}的要点。",
    "经常听人说起{t}，它到底是怎么回事？",
]
QA_LONG_Q_EN = [
    "Why is {t} the way it is? Please explain.",
    "How does {t} work, and why does it matter?",
    "Could you walk me through {t} in detail?",
]
QA_LONG_Q_ZH = ["{t}为什么会是这样？请解释一下。", "{t}是怎么回事？为什么重要？", "能详细给我讲讲{t}吗？"]
CHAT_OPEN_EN = [
    "I spent the whole weekend thinking about {t}.",
    "Do you know anything about {t}?",
    "My sister just got really into {t}.",
    "I read something interesting about {t} today.",
]
CHAT_REPLY_EN = [
    "Oh, nice. What got you interested?",
    "A little. What made you think of it?",
    "That sounds fun. Has she told you much about it?",
    "Really? What did it say?",
]
CHAT_OPEN_ZH = [
    "我整个周末都在琢磨{t}。",
    "你对{t}了解吗？",
    "我妹妹最近迷上了{t}。",
    "今天看到一篇讲{t}的文章，挺有意思。",
]
CHAT_REPLY_ZH = [
    "不错啊，怎么突然感兴趣了？",
    "知道一点，怎么想起问这个？",
    "挺好的，她跟你讲了不少吧？",
    "是吗？文章里说了什么？",
]
CHAT_FOLLOW_EN = [
    "Honestly I am still confused. Can you tell me what you think?",
    "Anyway, what would you say about it?",
    "So what is your take on it?",
]
CHAT_FOLLOW_ZH = ["说实话我还是有点糊涂，你怎么看？", "那你觉得呢？", "你对这个有什么看法？"]
MQA_FIRST_Q_EN = "What is this passage about?"
MQA_FIRST_Q_ZH = "这段话讲的是什么？"
MQA_FOLLOW_EN = ["And {q}", "Okay. {q}", "One more thing: {q}"]
MQA_FOLLOW_ZH = ["那{q}", "好的。{q}", "还有，{q}"]
MQA_WHY_EN = ["Can you explain that in more detail?", "Why is that?", "Tell me more about how that works."]
MQA_WHY_ZH = ["能再详细解释一下吗？", "为什么会这样？", "再多讲讲其中的道理吧。"]

# Short-bin answer openers that keep the very short answers varied.
SHORT_LEAD_EN = ["", "In short: ", "Basically, ", "Simply put, "]
SHORT_LEAD_ZH = ["", "简单说，", "一句话：", "其实，"]


def _bin_of(text: str, language: str) -> str:
    from polyalign_lf.data.normalize import length_bin

    return length_bin(text, language)[0]


def _join(sentences: list[str], language: str) -> str:
    return ("" if language == "zh" else " ").join(sentences)


def _compose(topic: dict, language: str, target_bin: str, rng: random.Random, *, lead: str = "") -> str:
    """Assemble an answer from the topic's sentences (then generic ones) until it lands in ``target_bin``."""
    own = list(topic[f"{language}_s"])
    rng.shuffle(own)
    generic = [g.format(t=topic[language]) for g in (GENERIC_ZH if language == "zh" else GENERIC_EN)]
    rng.shuffle(generic)
    pool = own + generic
    order = BINS.index(target_bin)
    sentences: list[str] = []
    for sentence in pool:
        sentences.append(sentence)
        text = lead + _join(sentences, language)
        current = BINS.index(_bin_of(text, language))
        if current == order:
            # In the bin; for longer bins keep adding while still inside, with a seeded stop, so lengths vary.
            if order == 0 or rng.random() < 0.45:
                return text
        elif current > order:
            sentences.pop()
    text = lead + _join(sentences, language)
    if _bin_of(text, language) != target_bin:
        raise AssertionError(f"could not build a {language} {target_bin} answer for {topic['en']}")
    return text


def _short_answer(topic: dict, language: str, k: int, rng: random.Random) -> str:
    lead = (SHORT_LEAD_ZH if language == "zh" else SHORT_LEAD_EN)[k % 4]
    return lead + rng.choice(topic[f"{language}_s"])


def _row(lang: str, track: str, family: str, style: str, target: str, k: int, topic: dict, rng: random.Random) -> dict:
    t = topic[lang]
    zh = lang == "zh"
    b = BINS.index(target)
    # Template choices rotate with the bin so that no two rows share a prompt (topic = k + 3b mod 12, so
    # (k + b) picks a different template for each bin of one topic) and the prompt wording says nothing
    # about the answer's length.
    row: dict = {
        "id": f"sample-{lang}-{track}-{family}-{target}-{k:02d}",
        "language": lang,
        "track": track,
        "family": family,
        "style_bucket": style,
        "split": SPLIT_OF_INDEX[k],
    }
    if family == "assistant":
        row["question"] = (ASSISTANT_Q_ZH if zh else ASSISTANT_Q_EN)[(k + 4 * b) % 6].format(t=t)
        row["answer"] = _short_answer(topic, lang, k, rng) if target == "short" else _compose(topic, lang, target, rng)
    elif track == "single":  # single-turn QA: extractive fact with its passage for short, explanations otherwise
        if target == "short":
            row["question"] = topic[f"fact_q_{lang}"]
            row["context"] = topic[f"passage_{lang}"]
            fact = topic[f"fact_a_{lang}"]
            row["answer"] = fact if k % 2 == 0 else (f"是{fact}。" if zh else f"It is {fact}.")
        else:
            row["question"] = (QA_LONG_Q_ZH if zh else QA_LONG_Q_EN)[(k + 4 * b) % 3].format(t=t)
            if k % 2 == 0:
                row["context"] = topic[f"passage_{lang}"]
            row["answer"] = _compose(topic, lang, target, rng)
    elif family == "dialogue":
        opens, replies = (CHAT_OPEN_ZH, CHAT_REPLY_ZH) if zh else (CHAT_OPEN_EN, CHAT_REPLY_EN)
        opener = (k + 4 * b) % 4
        history = [{"role": "user", "text": opens[opener].format(t=t)}, {"role": "assistant", "text": replies[opener]}]
        if k % 3 == 2:  # some conversations are one exchange longer
            history += [
                {"role": "user", "text": rng.choice(topic[f"{lang}_s"])},
                {"role": "assistant", "text": "有道理。" if zh else "That makes sense."},
            ]
        row["history"] = history
        row["question"] = (CHAT_FOLLOW_ZH if zh else CHAT_FOLLOW_EN)[k % 3]
        row["answer"] = _short_answer(topic, lang, k, rng) if target == "short" else _compose(topic, lang, target, rng)
        row["group"] = row["id"]
    else:  # multi-turn QA over a passage (conversational reading comprehension)
        row["context"] = topic[f"passage_{lang}"]
        first_answer = topic[f"{lang}_s"][k % 8]
        row["history"] = [
            {"role": "user", "text": MQA_FIRST_Q_ZH if zh else MQA_FIRST_Q_EN},
            {"role": "assistant", "text": first_answer},
        ]
        if target == "short":
            template = (MQA_FOLLOW_ZH if zh else MQA_FOLLOW_EN)[k % 3]
            q = topic[f"fact_q_{lang}"]
            row["question"] = template.format(q=q if zh or k % 3 == 1 else q[0].lower() + q[1:])
            row["answer"] = topic[f"fact_a_{lang}"]
        else:
            row["question"] = (MQA_WHY_ZH if zh else MQA_WHY_EN)[(k + 4 * b) % 3]
            row["answer"] = _compose(topic, lang, target, rng)
        row["group"] = row["id"]
    return row


def build_rows(seed: int = SEED) -> list[dict]:
    """All sample rows, in a fixed order (language, cell, bin, index)."""
    rows = []
    for lang in ("en", "zh"):
        for track, family, style in CELLS:
            for target in BINS:
                for k in range(ROWS_PER_BUCKET):
                    rng = random.Random(f"{seed}:{lang}:{track}:{family}:{target}:{k}")
                    topic = TOPICS[(k + BINS.index(target) * 3) % len(TOPICS)]
                    row = _row(lang, track, family, style, target, k, topic, rng)
                    got = _bin_of(row["answer"], lang)
                    if got != target:
                        raise AssertionError(f"{row['id']}: answer lands in {got}, not {target}")
                    rows.append(row)
    return rows


def render(rows: list[dict]) -> str:
    return "".join(json.dumps(row, ensure_ascii=False, sort_keys=False) + "\n" for row in rows)


def main() -> None:
    from polyalign_lf.io import atomic_write

    rows = build_rows()
    with atomic_write(SAMPLE_FILE) as handle:
        handle.write(render(rows))
    print(f"wrote {len(rows)} rows to {SAMPLE_FILE}")


if __name__ == "__main__":
    main()
