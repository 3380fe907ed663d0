package demo

import cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"

// The vocabulary the synthetic generator builds names and descriptions from. Everything is invented or generic;
// no real persons, and no real organisations beyond generic types ("spółdzielnia socjalna", "koło gospodyń").

type (
	area  = cataloguev1.Area
	group = cataloguev1.TargetGroup
	unit  = cataloguev1.FeeUnit
)

const (
	aFP  = cataloguev1.Area_AREA_FAMILY_POLICY
	aFS  = cataloguev1.Area_AREA_FAMILY_SUPPORT
	aFC  = cataloguev1.Area_AREA_FOSTER_CARE
	aSA  = cataloguev1.Area_AREA_SOCIAL_ASSISTANCE
	aHP  = cataloguev1.Area_AREA_HEALTH_PROMOTION
	aDIS = cataloguev1.Area_AREA_DISABILITY_SUPPORT
	aPE  = cataloguev1.Area_AREA_PUBLIC_EDUCATION
	aUNE = cataloguev1.Area_AREA_UNEMPLOYMENT
	aCUL = cataloguev1.Area_AREA_CULTURE
	aSPT = cataloguev1.Area_AREA_SPORT_AND_TOURISM
	aCIV = cataloguev1.Area_AREA_CIVIC_ACTIVITY
	aHOU = cataloguev1.Area_AREA_HOUSING
	aENV = cataloguev1.Area_AREA_ENVIRONMENT
	aREI = cataloguev1.Area_AREA_REINTEGRATION

	gU3  = cataloguev1.TargetGroup_TARGET_GROUP_CHILDREN_UNDER_3
	gCY  = cataloguev1.TargetGroup_TARGET_GROUP_CHILDREN_AND_YOUTH
	gFAM = cataloguev1.TargetGroup_TARGET_GROUP_FAMILIES
	gSEN = cataloguev1.TargetGroup_TARGET_GROUP_SENIORS
	gPWD = cataloguev1.TargetGroup_TARGET_GROUP_PERSONS_WITH_DISABILITIES
	gCAR = cataloguev1.TargetGroup_TARGET_GROUP_CARERS
	gUNE = cataloguev1.TargetGroup_TARGET_GROUP_UNEMPLOYED
	gALL = cataloguev1.TargetGroup_TARGET_GROUP_ALL_RESIDENTS

	uHour   = cataloguev1.FeeUnit_FEE_UNIT_HOUR
	uVisit  = cataloguev1.FeeUnit_FEE_UNIT_VISIT
	uDay    = cataloguev1.FeeUnit_FEE_UNIT_DAY
	uMonth  = cataloguev1.FeeUnit_FEE_UNIT_MONTH
	uMeal   = cataloguev1.FeeUnit_FEE_UNIT_MEAL
	uCourse = cataloguev1.FeeUnit_FEE_UNIT_COURSE
)

// feeProfile says how likely a kind of service is to be paid, and in what range (grosze per unit).
type feeProfile struct {
	prob     float64
	unit     unit
	min, max int32
}

// kind is one kind of social service with its typical names, areas and wording.
type kind struct {
	names    []string
	place    string
	slug     string
	areas    []area
	groups   []group
	minAge   int32 // -1: none
	maxAge   int32 // -1: none
	fee      feeProfile
	decision bool
	allDay   bool // open 24/7
	leads    []string
	acts     []string
	keywords []string
}

var kinds = []kind{
	{names: []string{"Żłobek", "Żłobek Gminny", "Żłobek Samorządowy"}, place: "Żłobek", slug: "zlobek",
		areas: []area{aFP}, groups: []group{gU3, gFAM}, minAge: 0, maxAge: 3, fee: feeProfile{0.9, uMonth, 20000, 60000},
		leads: []string{"Żłobek zapewnia opiekę, wychowanie i edukację dzieciom w wieku od 20 tygodni do 3 lat.",
			"Placówka opiekuje się najmłodszymi dziećmi w czasie, gdy rodzice pracują lub się uczą."},
		acts:     []string{"zajęcia sensoryczne", "zajęcia umuzykalniające", "codzienne spacery", "cztery posiłki dziennie", "konsultacje logopedyczne", "adaptacja dziecka z udziałem rodzica"},
		keywords: []string{"żłobek", "opieka nad dzieckiem", "maluchy", "zlobek"}},
	{names: []string{"Klub Dziecięcy", "Klub Malucha", "Mini-żłobek"}, place: "Klub dziecięcy", slug: "klub-dzieciecy",
		areas: []area{aFP}, groups: []group{gU3, gFAM}, minAge: 1, maxAge: 3, fee: feeProfile{0.85, uMonth, 15000, 40000},
		leads: []string{"Klub dziecięcy zapewnia opiekę nad dziećmi od roku do 3 lat do pięciu godzin dziennie.",
			"Kameralna placówka dla małych dzieci, prowadzona w pobliżu miejsca zamieszkania rodzin."},
		acts:     []string{"zabawy ruchowe", "zajęcia plastyczne", "drugie śniadanie i obiad", "zajęcia w małych grupach", "spotkania dla rodziców"},
		keywords: []string{"klub dziecięcy", "opieka nad małym dzieckiem", "przedszkole"}},
	{names: []string{"Dzienny opiekun", "Dzienny opiekun dla dzieci do lat 3"}, place: "Lokal dziennego opiekuna", slug: "dzienny-opiekun",
		areas: []area{aFP}, groups: []group{gU3, gFAM}, minAge: 0, maxAge: 3, fee: feeProfile{0.8, uMonth, 15000, 45000},
		leads: []string{"Dzienny opiekun sprawuje opiekę nad grupą najwyżej pięciorga dzieci w warunkach zbliżonych do domowych."},
		acts:  []string{"opieka w małej grupie", "zabawy edukacyjne", "posiłki przygotowywane na miejscu", "spacery"}},
	{names: []string{"Asystent rodziny", "Wsparcie asystenta rodziny"}, place: "Zespół asystentów rodziny", slug: "asystent-rodziny",
		areas: []area{aFS}, groups: []group{gFAM, gCY}, minAge: -1, maxAge: -1,
		leads: []string{"Asystent rodziny pracuje z rodziną w jej domu, pomagając rozwiązywać problemy wychowawcze i organizować codzienne życie.",
			"Wsparcie dla rodzin przeżywających trudności w opiece nad dziećmi i prowadzeniu gospodarstwa domowego."},
		acts:     []string{"pomoc w gospodarowaniu budżetem domowym", "wsparcie w kontaktach ze szkołą", "plan pracy z rodziną", "pomoc w sprawach urzędowych", "wizyty w domu rodziny"},
		keywords: []string{"asystent", "rodzina w kryzysie", "problemy wychowawcze"}},
	{names: []string{"Poradnictwo psychologiczne", "Punkt wsparcia psychologicznego", "Konsultacje psychologiczne"}, place: "Gabinet psychologa", slug: "psycholog",
		areas: []area{aFS, aHP}, groups: []group{gALL, gFAM}, minAge: -1, maxAge: -1, fee: feeProfile{0.3, uVisit, 5000, 12000},
		leads: []string{"Indywidualne konsultacje z psychologiem dla osób przeżywających kryzys, żałobę lub trudności w relacjach.",
			"Psycholog pomaga dzieciom, młodzieży i dorosłym w trudnych sytuacjach życiowych."},
		acts:     []string{"konsultacje indywidualne", "interwencja kryzysowa", "konsultacje dla rodziców", "grupa wsparcia", "psychoedukacja"},
		keywords: []string{"psycholog", "kryzys", "zdrowie psychiczne", "depresja", "lęk"}},
	{names: []string{"Mediacje rodzinne", "Punkt mediacji rodzinnych"}, place: "Punkt mediacji", slug: "mediacje",
		areas: []area{aFS}, groups: []group{gFAM}, minAge: 18, maxAge: -1, fee: feeProfile{0.3, uVisit, 5000, 15000},
		leads: []string{"Mediator pomaga członkom rodziny porozumieć się w sprawach rozstania, kontaktów z dziećmi i alimentów."},
		acts:  []string{"spotkania mediacyjne", "poufne rozmowy", "przygotowanie ugody", "konsultacje prawne"}},
	{names: []string{"Świetlica środowiskowa", "Placówka wsparcia dziennego", "Świetlica opiekuńczo-wychowawcza"}, place: "Świetlica", slug: "swietlica",
		areas: []area{aFS, aPE}, groups: []group{gCY}, minAge: 6, maxAge: 18,
		leads: []string{"Placówka wsparcia dziennego, w której dzieci i młodzież po lekcjach odrabiają zadania i rozwijają zainteresowania.",
			"Świetlica zapewnia dzieciom opiekę po zajęciach szkolnych, ciepły posiłek i zajęcia rozwijające."},
		acts:     []string{"pomoc w odrabianiu lekcji", "trening umiejętności społecznych", "gry planszowe", "zajęcia plastyczne", "wycieczki w czasie ferii", "ciepły posiłek"},
		keywords: []string{"świetlica", "swietlica", "zajęcia pozalekcyjne"}},
	{names: []string{"Grupa wsparcia dla rodzin zastępczych", "Wsparcie rodzinnej pieczy zastępczej"}, place: "Punkt wsparcia pieczy zastępczej", slug: "piecza",
		areas: []area{aFC}, groups: []group{gFAM, gCAR}, minAge: -1, maxAge: -1,
		leads: []string{"Spotkania i poradnictwo dla rodzin zastępczych oraz prowadzących rodzinne domy dziecka."},
		acts:  []string{"spotkania grupy wsparcia", "konsultacje koordynatora pieczy zastępczej", "superwizja", "zajęcia dla dzieci w czasie spotkań"}},
	{names: []string{"Szkolenie dla kandydatów na rodziny zastępcze", "Szkolenia dla rodzin zastępczych"}, place: "Sala szkoleniowa", slug: "piecza-szkolenia",
		areas: []area{aFC}, groups: []group{gFAM}, minAge: 21, maxAge: -1,
		leads: []string{"Szkolenie przygotowujące do pełnienia funkcji rodziny zastępczej lub prowadzenia rodzinnego domu dziecka."},
		acts:  []string{"zajęcia o potrzebach rozwojowych dzieci", "warsztaty o przywiązaniu i traumie", "spotkania z doświadczonymi rodzinami", "ocena predyspozycji"}},
	{names: []string{"Wsparcie usamodzielnianych wychowanków", "Program usamodzielnienia"}, place: "Punkt usamodzielnienia", slug: "usamodzielnienie",
		areas: []area{aFC, aREI}, groups: []group{gCY}, minAge: 18, maxAge: 25,
		leads: []string{"Opiekun usamodzielnienia pomaga młodym ludziom opuszczającym pieczę zastępczą wejść w dorosłe życie."},
		acts:  []string{"pomoc w znalezieniu mieszkania", "wsparcie w kontynuowaniu nauki", "pomoc w szukaniu pracy", "konsultacje psychologiczne"}},
	{names: []string{"Usługi opiekuńcze", "Usługi opiekuńcze w miejscu zamieszkania"}, place: "Dział usług opiekuńczych", slug: "uslugi-opiekuncze",
		areas: []area{aSA}, groups: []group{gSEN, gPWD}, minAge: -1, maxAge: -1, fee: feeProfile{0.95, uHour, 2000, 4000}, decision: true,
		leads: []string{"Opiekunka pomaga w codziennych czynnościach w domu: przy higienie, posiłkach, zakupach i sprzątaniu.",
			"Pomoc w domu dla osób, które z powodu wieku, choroby lub niepełnosprawności potrzebują wsparcia innych."},
		acts:     []string{"pomoc w higienie osobistej", "przygotowanie posiłków", "zakupy", "utrzymanie porządku", "towarzyszenie w wizytach u lekarza"},
		keywords: []string{"opiekunka", "uslugi opiekuncze", "pomoc w domu", "senior"}},
	{names: []string{"Specjalistyczne usługi opiekuńcze", "Specjalistyczne usługi opiekuńcze dla osób z zaburzeniami psychicznymi"}, place: "Dział usług specjalistycznych", slug: "uslugi-specjalistyczne",
		areas: []area{aSA, aDIS}, groups: []group{gPWD}, minAge: -1, maxAge: -1, fee: feeProfile{0.9, uHour, 3000, 6000}, decision: true,
		leads: []string{"Usługi dostosowane do szczególnych potrzeb wynikających z choroby lub niepełnosprawności, świadczone przez osoby z przygotowaniem zawodowym."},
		acts:  []string{"rehabilitacja w domu", "trening samodzielności", "pielęgnacja", "terapia zajęciowa", "wsparcie w utrzymaniu leczenia"}},
	{names: []string{"Posiłki", "Stołówka", "Obiady dla seniorów", "Bistro spółdzielni socjalnej"}, place: "Stołówka", slug: "posilki",
		areas: []area{aSA}, groups: []group{gSEN, gALL}, minAge: -1, maxAge: -1, fee: feeProfile{0.9, uMeal, 800, 1800},
		leads: []string{"Pełnowartościowy obiad dla osób, które nie mogą same zapewnić sobie ciepłego posiłku.",
			"Spółdzielnia socjalna przygotowuje obiady dla mieszkańców, także z dowozem do domu."},
		acts:     []string{"obiad dwudaniowy", "dieta lekkostrawna", "dowóz posiłków", "danie wegetariańskie"},
		keywords: []string{"obiad", "posiłek", "stołówka", "jedzenie"}},
	{names: []string{"Teleopieka", "Opaska bezpieczeństwa", "Teleopieka dla seniorów"}, place: "Centrum alarmowe teleopieki", slug: "teleopieka",
		areas: []area{aSA, aHP}, groups: []group{gSEN, gPWD}, minAge: 65, maxAge: -1, fee: feeProfile{0.7, uMonth, 2000, 5000}, allDay: true,
		leads: []string{"Opaska z przyciskiem SOS i czujnikiem upadku łączy seniora całą dobę z centrum alarmowym."},
		acts:  []string{"całodobowe centrum alarmowe", "czujnik upadku", "telefon życzliwości", "powiadamianie rodziny"}},
	{names: []string{"Dzienny Dom Senior+", "Klub Senior+", "Dzienny Dom Pomocy"}, place: "Dzienny Dom Senior+", slug: "senior-plus",
		areas: []area{aSA, aHP}, groups: []group{gSEN}, minAge: 60, maxAge: -1, fee: feeProfile{0.7, uDay, 1000, 3000},
		leads: []string{"Dzienny dom dla seniorów, którzy chcą spędzać czas aktywnie i w towarzystwie."},
		acts:  []string{"trening pamięci", "gimnastyka", "terapia zajęciowa", "ciepły posiłek", "zajęcia komputerowe", "spotkania międzypokoleniowe"}},
	{names: []string{"Klub Seniora", "Koło Seniora", "Klub Aktywnego Seniora"}, place: "Klub seniora", slug: "klub-seniora",
		areas: []area{aCIV, aCUL}, groups: []group{gSEN}, minAge: 60, maxAge: -1,
		leads: []string{"Klub prowadzony przez samych seniorów przy wsparciu organizatora społeczności lokalnej."},
		acts:  []string{"spotkania przy kawie", "rękodzieło", "śpiew w zespole", "wyjazdy integracyjne", "pomoc sąsiedzka"}},
	{names: []string{"Środowiskowy Dom Samopomocy", "Ośrodek wsparcia dziennego"}, place: "Środowiskowy Dom Samopomocy", slug: "sds",
		areas: []area{aDIS, aSA}, groups: []group{gPWD}, minAge: 18, maxAge: -1, fee: feeProfile{0.3, uDay, 1000, 3000}, decision: true,
		leads: []string{"Dzienny ośrodek wsparcia dla dorosłych z niepełnosprawnością intelektualną i zaburzeniami psychicznymi."},
		acts:  []string{"trening samodzielności", "pracownia kulinarna", "pracownia stolarska", "rehabilitacja ruchowa", "dowóz z domu"}},
	{names: []string{"Wypożyczalnia sprzętu rehabilitacyjnego", "Wypożyczalnia sprzętu ortopedycznego"}, place: "Wypożyczalnia", slug: "wypozyczalnia",
		areas: []area{aDIS, aHP}, groups: []group{gPWD, gSEN, gCAR}, minAge: -1, maxAge: -1, fee: feeProfile{0.6, uMonth, 500, 2000},
		leads:    []string{"Wypożyczamy łóżka rehabilitacyjne, wózki inwalidzkie, balkoniki, kule i koncentratory tlenu."},
		acts:     []string{"dowóz i montaż sprzętu", "instruktaż obsługi", "dezynfekcja sprzętu"},
		keywords: []string{"wózek inwalidzki", "łóżko rehabilitacyjne", "balkonik", "wypozyczalnia"}},
	{names: []string{"Asystent osobisty osoby z niepełnosprawnością", "Asystencja osobista"}, place: "Biuro asystencji", slug: "asystencja",
		areas: []area{aDIS}, groups: []group{gPWD}, minAge: -1, maxAge: -1,
		leads: []string{"Asystent pomaga w wyjściach z domu, dojazdach, załatwianiu spraw i udziale w życiu społecznym."},
		acts:  []string{"pomoc w dojazdach", "towarzyszenie w wyjściach", "wsparcie w sprawach urzędowych", "udział w wydarzeniach kulturalnych"}},
	{names: []string{"Opieka wytchnieniowa", "Wsparcie wytchnieniowe dla opiekunów"}, place: "Punkt opieki wytchnieniowej", slug: "wytchnienie",
		areas: []area{aDIS, aSA}, groups: []group{gCAR, gPWD}, minAge: -1, maxAge: -1,
		leads: []string{"Czasowe zastępstwo w opiece nad osobą z niepełnosprawnością, aby opiekun mógł odpocząć."},
		acts:  []string{"opieka w domu", "pobyt dzienny", "pobyt całodobowy", "poradnictwo dla opiekunów"}},
	{names: []string{"Transport door-to-door", "Usługa transportowa dla osób z niepełnosprawnościami"}, place: "Dyspozytornia transportu", slug: "door-to-door",
		areas: []area{aDIS, aHP}, groups: []group{gPWD, gSEN}, minAge: -1, maxAge: -1, fee: feeProfile{0.6, uVisit, 300, 1500},
		leads: []string{"Dowóz osób z trudnościami w poruszaniu się z domu do lekarza, na rehabilitację lub do urzędu."},
		acts:  []string{"bus z windą", "pomoc kierowcy i asystenta", "przejazdy do szpitala", "zamawianie telefoniczne"}},
	{names: []string{"Punkt konsultacyjny ds. uzależnień", "Punkt konsultacyjny ds. przeciwdziałania przemocy"}, place: "Punkt konsultacyjny", slug: "uzaleznienia",
		areas: []area{aHP, aFS}, groups: []group{gALL, gFAM}, minAge: 13, maxAge: -1,
		leads:    []string{"Terapeuta uzależnień i specjalista ds. przeciwdziałania przemocy udzielają anonimowych porad."},
		acts:     []string{"motywowanie do terapii", "plan bezpieczeństwa", "grupa wsparcia dla rodzin", "informacja o leczeniu"},
		keywords: []string{"alkohol", "uzależnienie", "przemoc domowa", "Niebieska Karta"}},
	{names: []string{"Program szczepień ochronnych", "Szczepienia przeciw grypie", "Szczepienia przeciw HPV"}, place: "Przychodnia", slug: "szczepienia",
		areas: []area{aHP}, groups: []group{gSEN, gCY}, minAge: -1, maxAge: -1,
		leads: []string{"Gminny program zdrowotny finansujący bezpłatne szczepienia ochronne."},
		acts:  []string{"badanie kwalifikacyjne", "spotkania edukacyjne", "szczepienie w przychodni"}},
	{names: []string{"Badania profilaktyczne", "Program profilaktyki zdrowotnej", "Dni Zdrowia"}, place: "Punkt profilaktyki", slug: "profilaktyka",
		areas: []area{aHP}, groups: []group{gALL}, minAge: -1, maxAge: -1,
		leads: []string{"Bezpłatne badania przesiewowe i porady dietetyka, fizjoterapeuty i pielęgniarki."},
		acts:  []string{"pomiar ciśnienia i cukru", "porady dietetyczne", "badania przesiewowe", "edukacja zdrowotna"}},
	{names: []string{"Odrabialnia", "Korepetycje z wolontariuszami", "Pomoc w nauce"}, place: "Sala nauki", slug: "odrabialnia",
		areas: []area{aPE, aCIV}, groups: []group{gCY}, minAge: 7, maxAge: 18,
		leads: []string{"Wolontariusze pomagają uczniom w odrabianiu lekcji i nadrabianiu zaległości."},
		acts:  []string{"matematyka", "język polski", "języki obce", "nauka języka polskiego dla cudzoziemców"}},
	{names: []string{"Uniwersytet Trzeciego Wieku", "Akademia Seniora"}, place: "Uniwersytet Trzeciego Wieku", slug: "utw",
		areas: []area{aPE, aCUL}, groups: []group{gSEN}, minAge: 50, maxAge: -1, fee: feeProfile{0.8, uCourse, 5000, 20000},
		leads: []string{"Wykłady, lektoraty i warsztaty dla osób starszych, które chcą się dalej uczyć."},
		acts:  []string{"wykłady", "lektorat języka angielskiego", "zajęcia komputerowe", "wycieczki edukacyjne"}},
	{names: []string{"Zajęcia w bibliotece", "Dyskusyjny Klub Książki", "Biblioteka dla wszystkich"}, place: "Biblioteka publiczna", slug: "biblioteka",
		areas: []area{aCUL, aPE}, groups: []group{gALL}, minAge: -1, maxAge: -1,
		leads: []string{"Biblioteka prowadzi spotkania autorskie, zajęcia dla dzieci i klub książki."},
		acts:  []string{"spotkania autorskie", "głośne czytanie", "warsztaty kodowania", "audiobooki", "książka na telefon"}},
	{names: []string{"Pracownie artystyczne", "Zajęcia w domu kultury", "Warsztaty teatralne"}, place: "Dom kultury", slug: "dom-kultury",
		areas: []area{aCUL}, groups: []group{gCY, gALL}, minAge: -1, maxAge: -1, fee: feeProfile{0.6, uMonth, 3000, 10000},
		leads: []string{"Zajęcia taneczne, teatralne, wokalne i plastyczne prowadzone przez instruktorów."},
		acts:  []string{"taniec", "teatr", "ceramika", "śpiew", "malarstwo"}},
	{names: []string{"Zajęcia sportowe dla dzieci", "Akademia sportu", "Sport na boisku"}, place: "Boisko wielofunkcyjne", slug: "sport",
		areas: []area{aSPT}, groups: []group{gCY}, minAge: 6, maxAge: 18, fee: feeProfile{0.2, uVisit, 500, 2000},
		leads: []string{"Zajęcia piłki nożnej, koszykówki i siatkówki prowadzone przez animatorów sportu."},
		acts:  []string{"turnieje", "zajęcia ogólnorozwojowe", "treningi", "gry zespołowe"}},
	{names: []string{"Aktywny Senior", "Nordic walking dla seniorów", "Gimnastyka dla seniorów"}, place: "Sala gimnastyczna", slug: "aktywny-senior",
		areas: []area{aSPT, aHP}, groups: []group{gSEN}, minAge: 60, maxAge: -1, fee: feeProfile{0.4, uVisit, 300, 1500},
		leads: []string{"Zajęcia ruchowe poprawiające kondycję i równowagę oraz zmniejszające ryzyko upadków."},
		acts:  []string{"nordic walking", "gimnastyka", "ćwiczenia równowagi", "aquaaerobik"}},
	{names: []string{"Wycieczki krajoznawcze", "Turystyka dla seniorów", "Wyjazdy integracyjne"}, place: "Punkt zapisów", slug: "wycieczki",
		areas: []area{aSPT, aCUL}, groups: []group{gSEN, gPWD}, minAge: -1, maxAge: -1, fee: feeProfile{0.7, uCourse, 3000, 15000},
		leads: []string{"Jednodniowe wycieczki autokarem przystosowanym dla osób na wózkach."},
		acts:  []string{"zwiedzanie muzeów", "przewodnik", "obiad w trakcie wycieczki", "opieka pilota"}},
	{names: []string{"Półkolonie", "Półkolonie letnie", "Ferie w mieście"}, place: "Szkoła podstawowa", slug: "polkolonie",
		areas: []area{aSPT, aFS}, groups: []group{gCY, gFAM}, minAge: 7, maxAge: 12, fee: feeProfile{0.8, uCourse, 20000, 60000},
		leads: []string{"Turnusy półkolonii w czasie wakacji i ferii z wycieczkami, basenem i warsztatami."},
		acts:  []string{"wycieczki rowerowe", "basen", "gry terenowe", "warsztaty artystyczne"}},
	{names: []string{"Centrum Wolontariatu", "Bank Czasu", "Wolontariat sąsiedzki"}, place: "Centrum wolontariatu", slug: "wolontariat",
		areas: []area{aCIV}, groups: []group{gALL, gCY}, minAge: 13, maxAge: -1,
		leads: []string{"Centrum łączy osoby, które chcą pomagać, z miejscami, które potrzebują wolontariuszy."},
		acts:  []string{"szkolenie wprowadzające", "opiekun wolontariusza", "gala wolontariatu", "zaświadczenia o wolontariacie"}},
	{names: []string{"Warsztaty budżetu obywatelskiego", "Szkoła liderów lokalnych", "Inkubator inicjatyw sąsiedzkich"}, place: "Sala konferencyjna", slug: "aktywnosc-obywatelska",
		areas: []area{aCIV}, groups: []group{gALL}, minAge: 16, maxAge: -1,
		leads: []string{"Warsztaty dla mieszkańców, którzy chcą zmieniać swoją okolicę i przygotować własny projekt."},
		acts:  []string{"przygotowanie projektu", "mikrogranty", "spotkania sąsiedzkie", "konsultacje społeczne"}},
	{names: []string{"Centrum Integracji Społecznej"}, place: "Centrum Integracji Społecznej", slug: "cis",
		areas: []area{aREI, aUNE}, groups: []group{gUNE}, minAge: 18, maxAge: -1,
		leads: []string{"Roczny program reintegracji zawodowej i społecznej w warsztatach zawodowych."},
		acts:  []string{"warsztat gastronomiczny", "warsztat remontowo-budowlany", "świadczenie integracyjne", "doradztwo zawodowe"}},
	{names: []string{"Klub Integracji Społecznej"}, place: "Klub Integracji Społecznej", slug: "kis",
		areas: []area{aREI, aUNE}, groups: []group{gUNE, gALL}, minAge: 18, maxAge: -1,
		leads: []string{"Grupowe zajęcia aktywizujące dla osób, które chcą wrócić na rynek pracy."},
		acts:  []string{"pisanie CV", "rozmowa kwalifikacyjna", "prace społecznie użyteczne", "staże"}},
	{names: []string{"Doradztwo zawodowe", "Pośrednictwo pracy", "Klub Pracy"}, place: "Punkt doradztwa zawodowego", slug: "doradztwo",
		areas: []area{aUNE}, groups: []group{gUNE}, minAge: 18, maxAge: -1,
		leads:    []string{"Doradca zawodowy pomaga wybrać zawód lub szkolenie i przygotować się do rozmowy z pracodawcą."},
		acts:     []string{"bilans kompetencji", "oferty pracy", "szkolenia zawodowe", "spotkania z pracodawcami"},
		keywords: []string{"praca", "bezrobocie", "zatrudnienie", "CV"}},
	{names: []string{"Mieszkanie treningowe", "Mieszkanie wspomagane", "Mieszkanie chronione"}, place: "Mieszkanie", slug: "mieszkanie",
		areas: []area{aHOU, aREI}, groups: []group{gPWD, gCY}, minAge: 18, maxAge: -1, fee: feeProfile{0.6, uMonth, 10000, 40000}, decision: true, allDay: true,
		leads: []string{"Mieszkanie, w którym pod okiem specjalistów mieszkańcy uczą się samodzielnego życia."},
		acts:  []string{"trening gospodarowania budżetem", "wsparcie pracownika socjalnego", "nauka gotowania", "plan usamodzielnienia"}},
	{names: []string{"Noclegownia", "Schronisko dla osób w kryzysie bezdomności", "Ogrzewalnia"}, place: "Noclegownia", slug: "noclegownia",
		areas: []area{aHOU, aSA}, groups: []group{gALL}, minAge: 18, maxAge: -1, decision: true, allDay: true,
		leads: []string{"Tymczasowe schronienie dla osób w kryzysie bezdomności, z posiłkiem i możliwością kąpieli."},
		acts:  []string{"nocleg", "ciepły posiłek", "łaźnia", "streetworking", "pomoc w wyjściu z bezdomności"}},
	{names: []string{"Porady mieszkaniowe", "Pomoc w sprawach mieszkaniowych"}, place: "Punkt porad mieszkaniowych", slug: "porady-mieszkaniowe",
		areas: []area{aHOU, aSA}, groups: []group{gALL, gFAM}, minAge: -1, maxAge: -1,
		leads: []string{"Doradca pomaga w sprawach najmu lokali komunalnych, zadłużenia czynszowego i dodatku mieszkaniowego."},
		acts:  []string{"plan spłaty zadłużenia", "pomoc w wypełnianiu wniosków", "zamiana mieszkania", "dodatek mieszkaniowy"}},
	{names: []string{"Punkt konsultacyjny „Czyste Powietrze”", "Doradztwo energetyczne", "Wymiana pieców – porady"}, place: "Punkt doradztwa energetycznego", slug: "energia",
		areas: []area{aENV, aHOU}, groups: []group{gALL}, minAge: -1, maxAge: -1,
		leads:    []string{"Doradca energetyczny pomaga wymienić stary piec, zaplanować docieplenie i złożyć wniosek o dofinansowanie."},
		acts:     []string{"wymiana źródła ciepła", "termomodernizacja", "fotowoltaika", "obniżenie rachunków za energię"},
		keywords: []string{"piec", "smog", "czyste powietrze", "ubóstwo energetyczne"}},
	{names: []string{"Edukacja ekologiczna", "Warsztaty ekologiczne", "Eko-klub"}, place: "Ogród edukacyjny", slug: "eko",
		areas: []area{aENV, aPE}, groups: []group{gCY, gFAM}, minAge: 5, maxAge: 14,
		leads: []string{"Warsztaty o segregacji odpadów, oszczędzaniu wody i energii oraz ochronie przyrody."},
		acts:  []string{"domki dla owadów", "segregacja odpadów", "pomiary jakości powietrza", "sadzenie drzew"}},
	{names: []string{"Ogród społeczny", "Repair Café", "Punkt napraw i wymiany"}, place: "Ogród społeczny", slug: "ogrod",
		areas: []area{aENV, aCIV}, groups: []group{gALL}, minAge: -1, maxAge: -1,
		leads: []string{"Miejsce, w którym mieszkańcy wspólnie uprawiają rośliny i naprawiają sprzęty zamiast je wyrzucać."},
		acts:  []string{"podwyższone grządki", "naprawa rowerów", "wymiana ubrań", "wymiana sadzonek"}},
	{names: []string{"Nieodpłatna pomoc prawna", "Poradnictwo obywatelskie", "Punkt nieodpłatnej pomocy prawnej"}, place: "Punkt nieodpłatnej pomocy prawnej", slug: "pomoc-prawna",
		areas: []area{aSA, aCIV}, groups: []group{gALL}, minAge: 18, maxAge: -1,
		leads: []string{"Adwokaci, radcy prawni i doradcy obywatelscy udzielają porad w sprawach rodzinnych, mieszkaniowych i długów."},
		acts:  []string{"porada prawna", "przygotowanie pisma", "mediacja", "porada przez telefon"}},
	{names: []string{"Usługi sąsiedzkie", "Pomoc sąsiedzka"}, place: "Biuro usług sąsiedzkich", slug: "uslugi-sasiedzkie",
		areas: []area{aSA, aCIV}, groups: []group{gSEN, gPWD}, minAge: -1, maxAge: -1, fee: feeProfile{0.6, uHour, 1500, 2500},
		leads: []string{"Przeszkolony sąsiad pomaga w zakupach, przygotowaniu posiłku i dotrzymuje towarzystwa."},
		acts:  []string{"zakupy", "spacer", "towarzyszenie", "drobne naprawy"}},
}

var staff = []string{"opiekunki", "terapeuci zajęciowi", "psycholog i pedagog", "pracownicy socjalni", "animatorzy",
	"wolontariusze", "fizjoterapeuci", "pielęgniarka środowiskowa", "instruktorzy", "doradca zawodowy", "asystenci",
	"trenerzy", "mediatorzy", "edukatorzy", "bibliotekarze", "logopeda", "organizator społeczności lokalnej"}

// partners are in the instrumental case, after "we współpracy z".
var partners = []string{"stowarzyszeniem", "fundacją", "spółdzielnią socjalną", "kołem gospodyń wiejskich",
	"ochotniczą strażą pożarną", "parafią", "szkołą podstawową", "biblioteką publiczną", "domem kultury",
	"klubem sportowym", "radą osiedla", "lokalnym przedsiębiorcą", "powiatowym urzędem pracy", "uniwersytetem trzeciego wieku"}

var generalActs = []string{"konsultacje indywidualne", "zajęcia grupowe", "warsztaty umiejętności społecznych",
	"pomoc w załatwianiu spraw urzędowych", "poradnictwo specjalistyczne", "spotkania integracyjne", "zajęcia ruchowe",
	"trening pamięci", "warsztaty kulinarne", "zajęcia plastyczne", "wsparcie psychologiczne",
	"informację o prawach i uprawnieniach", "pomoc w wypełnianiu wniosków", "wyjścia do kina i teatru", "dowóz na zajęcia"}

// groupPhrase is each target group in the genitive, after "do".
var groupPhrase = map[group]string{
	gU3: "dzieci do lat 3 i ich rodziców", gCY: "dzieci i młodzieży", gFAM: "rodzin", gSEN: "seniorów",
	gPWD: "osób z niepełnosprawnościami", gCAR: "opiekunów osób zależnych", gUNE: "osób bezrobotnych", gALL: "wszystkich mieszkańców",
}

var funds = []string{"Europejskiego Funduszu Społecznego Plus", "budżetu gminy", "Funduszu Solidarnościowego",
	"programu Fundusze Europejskie dla Rozwoju Społecznego", "rządowego programu Senior+", "budżetu województwa",
	"Państwowego Funduszu Rehabilitacji Osób Niepełnosprawnych"}

var accessYes = []string{"podjazd dla wózków", "winda", "toaleta dla osób z niepełnosprawnościami", "pętla indukcyjna",
	"oznaczenia w alfabecie Braille'a", "miejsce parkingowe dla osób z niepełnosprawnościami", "wejście bez progów",
	"tłumacz języka migowego po wcześniejszym zgłoszeniu"}

var accessNo = []string{"schody przy wejściu, brak podjazdu", "placówka na piętrze bez windy",
	"wąskie drzwi wejściowe, pomoc personelu na miejscu", "dwa stopnie przy wejściu, dzwonek przy drzwiach"}

var streets = []string{"Kościuszki", "Szkolna", "Polna", "Ogrodowa", "Lipowa", "Leśna", "Słoneczna", "Kościelna",
	"Mickiewicza", "Sienkiewicza", "Piłsudskiego", "Długa", "Krótka", "Kolejowa", "Wiejska", "Parkowa", "Żeromskiego",
	"Reymonta", "Konopnickiej", "Słowackiego", "Kopernika", "Jana Pawła II", "3 Maja", "Wojska Polskiego", "Rynek",
	"Młyńska", "Źródlana", "Łąkowa", "Spokojna", "Wrzosowa", "Zielona", "Targowa", "Dworcowa", "Ogrodników"}

var accreditationsPool = []string{"Standard usług opiekuńczych 2023", "Znak jakości „Zaufany dostawca usług społecznych”",
	"Certyfikat „Miejsce przyjazne seniorom”", "Akredytacja ministra właściwego do spraw zabezpieczenia społecznego",
	"Wpis do rejestru placówek wsparcia dziennego", "Certyfikat dostępności", "Status organizacji pożytku publicznego"}

var applyPhrases = []string{"Wniosek w punkcie obsługi CUS lub przez ePUAP.", "Zgłoszenie telefoniczne lub mailowe; termin w ciągu 7 dni.",
	"Bez zapisów – wystarczy przyjść w godzinach otwarcia.", "Karta zgłoszenia na stronie internetowej lub w siedzibie placówki.",
	"Wniosek w CUS; pracownik socjalny kontaktuje się w ciągu 3 dni roboczych.", "Zapisy w sekretariacie placówki do wyczerpania miejsc."}

// Syllables of invented words; both with and without Polish diacritics.
var syllables = []string{"ka", "zo", "wie", "rzy", "szcz", "ło", "mą", "dę", "gró", "ść", "ni", "pa", "ra", "cie",
	"dź", "ży", "bo", "le", "ku", "sta", "bró", "chę", "wi", "ma", "ro", "now", "ła", "go", "sze", "tu", "prze", "mi",
	"ko", "dro", "źrzy", "ną", "bie", "ry", "sło", "ja", "ce", "gó", "wę", "po", "la", "ze", "ci", "do", "cha", "mo"}

var gminaRoots = []string{"Brzez", "Dąbr", "Lip", "Sosn", "Wierzb", "Buk", "Jabłon", "Grab", "Jawor", "Olsz", "Kał",
	"Krzem", "Żyt", "Pszczół", "Łęk", "Mił", "Rad", "Bol", "Dobr", "Śliw", "Wiśni", "Gorz", "Kozł", "Wrzos", "Strzeg",
	"Chrzan", "Trzc", "Mszan", "Czarn", "Biał", "Zawadz", "Kamień", "Górz", "Błot", "Staw", "Przec", "Kłod", "Ryb",
	"Zabł", "Mąkol", "Jezior", "Podgór", "Wol", "Sędzi", "Tomasz", "Krośn", "Łazisk", "Ostrz", "Pias", "Głusz"}

var gminaSuffixes = []string{"owo", "ów", "ice", "owice", "in", "no", "sko", "ka", "ec", "iec", "any", "ewo", "yn",
	"ówek", "owa", "ichowo", "ęcin", "nik", "awa", "ocin"}

var villagePrefixes = []string{"Nowa ", "Stara ", "Wielka ", "Mała ", "Górna ", "Dolna ", "", "", "", ""}

// voivodeship is one of the 16 voivodeships with an approximate centre and half-extent, for plausible coordinates.
type voivodeship struct {
	code        int
	name        string
	lat, lng    float64
	dlat, dlng  float64
	phoneAreas  []string
	postalFirst byte
}

var voivodeships = []voivodeship{
	{2, "dolnośląskie", 51.05, 16.40, 0.45, 1.1, []string{"71", "74", "75", "76"}, '5'},
	{4, "kujawsko-pomorskie", 53.05, 18.50, 0.45, 0.9, []string{"52", "54", "56"}, '8'},
	{6, "lubelskie", 51.20, 22.80, 0.7, 0.7, []string{"81", "82", "83", "84"}, '2'},
	{8, "lubuskie", 52.20, 15.30, 0.7, 0.45, []string{"68", "95"}, '6'},
	{10, "łódzkie", 51.60, 19.40, 0.55, 0.7, []string{"42", "43", "44", "46"}, '9'},
	{12, "małopolskie", 49.90, 20.20, 0.35, 0.8, []string{"12", "14", "18"}, '3'},
	{14, "mazowieckie", 52.30, 21.00, 0.65, 1.1, []string{"22", "23", "24", "25", "29", "48"}, '0'},
	{16, "opolskie", 50.65, 17.90, 0.35, 0.45, []string{"77"}, '4'},
	{18, "podkarpackie", 50.00, 22.10, 0.45, 0.7, []string{"13", "15", "16", "17"}, '3'},
	{20, "podlaskie", 53.30, 22.90, 0.7, 0.5, []string{"85", "86", "87"}, '1'},
	{22, "pomorskie", 54.15, 18.00, 0.35, 0.9, []string{"58", "59"}, '8'},
	{24, "śląskie", 50.30, 19.00, 0.45, 0.35, []string{"32", "33", "34"}, '4'},
	{26, "świętokrzyskie", 50.75, 20.75, 0.3, 0.55, []string{"41"}, '2'},
	{28, "warmińsko-mazurskie", 53.85, 20.80, 0.35, 1.2, []string{"55", "87", "89"}, '1'},
	{30, "wielkopolskie", 52.30, 17.30, 0.75, 0.9, []string{"61", "62", "63", "65", "67"}, '6'},
	{32, "zachodniopomorskie", 53.60, 15.50, 0.55, 0.9, []string{"91", "94", "95"}, '7'},
}
